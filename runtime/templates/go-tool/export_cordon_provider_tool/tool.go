// Package export_cordon_provider_tool is {{name}}: a Cordon tool, made by
// `cordon new tool --lang go`. Its one action, `count`, counts the
// characters, words and lines of a text. Models call it as `{{name}}__count`;
// the host checks the arguments against the schema in Info before Call runs.
//
// The generated bindings call this package for the exported
// `cordon:provider/tool` interface (its folder's name is what makes this a
// tool): the functions Info and Call.
package export_cordon_provider_tool

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	. "wit_component/cordon_provider_tool"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Version is this tool's version; keep it equal to cordon.toml's.
const Version = "0.1.0"

const countSchema = `{
  "type": "object",
  "properties": {"text": {"type": "string", "description": "The text to count."}},
  "required": ["text"],
  "additionalProperties": false
}`

// Info describes the tool and its actions. It must not fail or call the host.
func Info() ToolInfo {
	return ToolInfo{
		Version:     Version,
		Description: "Counts the characters, words and lines of a text",
		Actions: []Action{{
			Name:        "count",
			Description: "Count the characters (Unicode scalar values), words (runs of non-space) and lines of `text`.",
			Parameters:  countSchema,
		}},
	}
}

// Call runs one action on its JSON arguments.
func Call(action string, arguments string) witTypes.Result[string, ToolError] {
	fail := func(kind ToolErrorKind, format string, args ...any) witTypes.Result[string, ToolError] {
		return witTypes.Err[string](ToolError{Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
	if action != "count" {
		return fail(ToolErrorKind_UnknownAction, "no action %q; this tool has: count", action)
	}
	// The host has checked the schema, but say what is wrong rather than
	// panic if a call gets here without it.
	var args struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal([]byte(arguments), &args); err != nil || args.Text == nil {
		return fail(ToolErrorKind_InvalidArguments, "the arguments need `text`, a string")
	}
	output, err := json.Marshal(count(*args.Text))
	if err != nil {
		return fail(ToolErrorKind_Failed, "count failed: %v", err)
	}
	return witTypes.Ok[string, ToolError](string(output))
}

// counts is the action's JSON output.
type counts struct {
	Characters int `json:"characters"`
	Words      int `json:"words"`
	Lines      int `json:"lines"`
}

// count counts characters (Unicode scalar values), words (runs of non-space,
// as Unicode defines space) and lines (ended by LF, the last one maybe not).
func count(text string) counts {
	var result counts
	inWord := false
	for _, c := range text {
		result.Characters++
		if c == '\n' {
			result.Lines++
		}
		if unicode.IsSpace(c) {
			inWord = false
		} else if !inWord {
			inWord = true
			result.Words++
		}
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		result.Lines++
	}
	return result
}
