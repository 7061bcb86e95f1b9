// Package regextool is the regex-go tool's work, apart from WebAssembly: each
// action takes its arguments as JSON text and answers text (mostly JSON), or an
// *Error saying why not. Patterns use Go's regexp package, the RE2 syntax and
// engine: matching takes time proportional to the text's length times the
// pattern's size, never exponential (there are no backreferences or
// lookarounds), so the nested-quantifier patterns that hang backtracking
// engines answer at once. What is still slow (a huge counted repeat over a
// long text) is stopped by the host's CPU limit for the call.
package regextool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Description is the tool's one line, for the model.
const Description = "Regular expressions with Go's RE2 engine (time linear in the text, no backreferences or lookarounds): find matches with their capture groups and byte offsets, replace with $1 / ${name} expansion, split"

// Bounds on what one call takes and gives.
const (
	// MaxOutput is the largest answer, in bytes.
	MaxOutput = 4 << 20
	// DefaultFindLimit is how many matches find returns when no limit is given.
	DefaultFindLimit = 1000
	// MaxLimit is the largest limit find and split accept.
	MaxLimit = 100000
)

// ErrorKind says why a call failed.
type ErrorKind int

const (
	// InvalidArguments: the arguments fit the schema but make no sense (a bad pattern).
	InvalidArguments ErrorKind = iota
	// UnknownAction: there is no such action.
	UnknownAction
	// LimitExceeded: the answer would be too large.
	LimitExceeded
	// Failed: anything else.
	Failed
)

// Error is a failed call: a kind and a message written for the model.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Action describes one action: its name, what it does, and the JSON schema of its arguments.
type Action struct {
	Name        string
	Description string
	Parameters  string
}

const patternSchema = `"pattern": {"type": "string", "maxLength": 4096, "description": "A regular expression in RE2 syntax (Go's regexp): e.g. (?i) for case-insensitive, (?P<name>...) for a named group, \\d, \\b, [[:alpha:]], \\p{Greek}. Matching time grows with the text's length times the pattern's size (never exponentially): prefer a+ to huge counted repeats like a{1000} on long texts"}`
const textSchema = `"text": {"type": "string", "maxLength": 1000000, "description": "The text to search (UTF-8)"}`

// Actions are the tool's actions, in the order the model sees them.
var Actions = []Action{
	{
		Name:        "find",
		Description: "Find the matches of a regular expression (RE2 syntax) in a text, left to right, without overlaps. Each match gives the matched text, its start and end as BYTE offsets into the UTF-8 text (end exclusive), and its capture groups (null for a group that did not take part). Answers {\"matches\": [{\"match\", \"start\", \"end\", \"groups\": [...], \"named\": {...}}], \"count\", \"truncated\"}.",
		Parameters: `{"type": "object", "properties": {` + patternSchema + `, ` + textSchema + `,
			"limit": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "At most this many matches (default 1000); truncated says whether there were more"}},
			"required": ["pattern", "text"], "additionalProperties": false}`,
	},
	{
		Name:        "replace",
		Description: "Replace every match of a regular expression (RE2 syntax) in a text and answer the new text (plain text, not JSON). In the replacement, $1 or ${1} is the first capture group, ${name} a named group, $0 the whole match, $$ a literal dollar; use ${1}x rather than $1x when a letter or digit follows.",
		Parameters: `{"type": "object", "properties": {` + patternSchema + `, ` + textSchema + `,
			"replacement": {"type": "string", "maxLength": 100000, "description": "The replacement, with $1 / ${name} expansion"}},
			"required": ["pattern", "text", "replacement"], "additionalProperties": false}`,
	},
	{
		Name:        "split",
		Description: "Split a text around the matches of a regular expression (RE2 syntax) and answer the pieces as a JSON array of strings. With limit n, at most n pieces: the last is the unsplit rest.",
		Parameters: `{"type": "object", "properties": {` + patternSchema + `, ` + textSchema + `,
			"limit": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "At most this many pieces (default: all)"}},
			"required": ["pattern", "text"], "additionalProperties": false}`,
	},
	{
		Name:        "probe",
		Description: "Report what the sandbox lets this tool see: its environment variables, its arguments, whether it can read a file (/etc/passwd) and whether it can open a TCP connection (127.0.0.1:80). For checking the sandbox; not useful for regular expressions.",
		Parameters:  `{"type": "object", "properties": {}, "additionalProperties": false}`,
	},
}

// Run runs action on its JSON arguments.
func Run(action string, arguments string) (string, *Error) {
	var output string
	var err *Error
	switch action {
	case "find":
		output, err = find(arguments)
	case "replace":
		output, err = replace(arguments)
	case "split":
		output, err = split(arguments)
	case "probe":
		output, err = probe()
	default:
		names := make([]string, len(Actions))
		for i, a := range Actions {
			names[i] = a.Name
		}
		return "", errorf(UnknownAction, "no action %q; the actions are: %s", action, strings.Join(names, ", "))
	}
	if err == nil && len(output) > MaxOutput {
		return "", errorf(LimitExceeded, "the answer would be %d bytes, more than this tool's limit of %d; use a limit, or a smaller text", len(output), MaxOutput)
	}
	return output, err
}

// decode reads the arguments into args, refusing unknown fields (the host
// checks the schema first; this is for calls made some other way).
func decode(arguments string, args any) *Error {
	decoder := json.NewDecoder(strings.NewReader(arguments))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(args); err != nil {
		return errorf(InvalidArguments, "the arguments are not the expected JSON object: %v", err)
	}
	return nil
}

func compile(pattern string) (*regexp.Regexp, *Error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		// Go's message names the problem and the offending part, e.g.
		// "error parsing regexp: missing closing ): `a(b`".
		return nil, errorf(InvalidArguments, "invalid pattern: %v", err)
	}
	return re, nil
}

// encode writes v as compact JSON without escaping <, > and & (the output is
// read by a model, not embedded in HTML).
func encode(v any) (string, *Error) {
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		return "", errorf(Failed, "cannot encode the answer: %v", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Match is one match found.
type Match struct {
	Match  string             `json:"match"`
	Start  int                `json:"start"`
	End    int                `json:"end"`
	Groups []*string          `json:"groups"`
	Named  map[string]*string `json:"named,omitempty"`
}

type findArgs struct {
	Pattern string `json:"pattern"`
	Text    string `json:"text"`
	Limit   *int   `json:"limit"`
}

func find(arguments string) (string, *Error) {
	var args findArgs
	if err := decode(arguments, &args); err != nil {
		return "", err
	}
	limit := DefaultFindLimit
	if args.Limit != nil {
		if *args.Limit < 1 || *args.Limit > MaxLimit {
			return "", errorf(InvalidArguments, "limit must be between 1 and %d, not %d", MaxLimit, *args.Limit)
		}
		limit = *args.Limit
	}
	re, err := compile(args.Pattern)
	if err != nil {
		return "", err
	}
	// One more than asked, to tell whether there were more.
	found := re.FindAllStringSubmatchIndex(args.Text, limit+1)
	truncated := len(found) > limit
	if truncated {
		found = found[:limit]
	}
	names := re.SubexpNames()
	hasNames := false
	for _, name := range names {
		hasNames = hasNames || name != ""
	}
	matches := make([]Match, 0, len(found))
	for _, loc := range found {
		m := Match{Match: args.Text[loc[0]:loc[1]], Start: loc[0], End: loc[1], Groups: make([]*string, 0, len(loc)/2-1)}
		if hasNames {
			m.Named = map[string]*string{}
		}
		for group := 1; group < len(loc)/2; group++ {
			var value *string
			if start, end := loc[2*group], loc[2*group+1]; start >= 0 {
				text := args.Text[start:end]
				value = &text
			}
			m.Groups = append(m.Groups, value)
			if names[group] != "" {
				m.Named[names[group]] = value
			}
		}
		matches = append(matches, m)
	}
	return encode(struct {
		Matches   []Match `json:"matches"`
		Count     int     `json:"count"`
		Truncated bool    `json:"truncated"`
	}{matches, len(matches), truncated})
}

type replaceArgs struct {
	Pattern     string `json:"pattern"`
	Text        string `json:"text"`
	Replacement string `json:"replacement"`
}

func replace(arguments string) (string, *Error) {
	var args replaceArgs
	if err := decode(arguments, &args); err != nil {
		return "", err
	}
	re, err := compile(args.Pattern)
	if err != nil {
		return "", err
	}
	return re.ReplaceAllString(args.Text, args.Replacement), nil
}

type splitArgs struct {
	Pattern string `json:"pattern"`
	Text    string `json:"text"`
	Limit   *int   `json:"limit"`
}

func split(arguments string) (string, *Error) {
	var args splitArgs
	if err := decode(arguments, &args); err != nil {
		return "", err
	}
	limit := -1
	if args.Limit != nil {
		if *args.Limit < 1 || *args.Limit > MaxLimit {
			return "", errorf(InvalidArguments, "limit must be between 1 and %d, not %d", MaxLimit, *args.Limit)
		}
		limit = *args.Limit
	}
	re, err := compile(args.Pattern)
	if err != nil {
		return "", err
	}
	return encode(re.Split(args.Text, limit))
}
