// Package export_cordon_provider_tool is where the generated bindings look for
// the exported `cordon:provider/tool` interface: the functions Info and Call.
// It only converts between the bindings' types and package regextool, which
// does the work and knows nothing of WebAssembly.
package export_cordon_provider_tool

import (
	"fmt"

	log "wit_component/cordon_provider_log"
	. "wit_component/cordon_provider_tool"
	"wit_component/regextool"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Version is this tool's version; keep it equal to cordon.toml's.
const Version = "0.1.0"

// Info describes the tool and its actions.
func Info() ToolInfo {
	actions := make([]Action, 0, len(regextool.Actions))
	for _, action := range regextool.Actions {
		actions = append(actions, Action{Name: action.Name, Description: action.Description, Parameters: action.Parameters})
	}
	return ToolInfo{Version: Version, Description: regextool.Description, Actions: actions}
}

// Call runs one action on its JSON arguments.
func Call(action string, arguments string) witTypes.Result[string, ToolError] {
	output, err := regextool.Run(action, arguments)
	if err != nil {
		log.Write(log.Level_Debug, fmt.Sprintf("%s failed: %s", action, err.Message))
		return witTypes.Err[string, ToolError](ToolError{Kind: kind(err.Kind), Message: err.Message})
	}
	log.Write(log.Level_Debug, fmt.Sprintf("%s answered %d bytes", action, len(output)))
	return witTypes.Ok[string, ToolError](output)
}

func kind(kind regextool.ErrorKind) ToolErrorKind {
	switch kind {
	case regextool.InvalidArguments:
		return ToolErrorKind_InvalidArguments
	case regextool.UnknownAction:
		return ToolErrorKind_UnknownAction
	case regextool.LimitExceeded:
		return ToolErrorKind_LimitExceeded
	default:
		return ToolErrorKind_Failed
	}
}
