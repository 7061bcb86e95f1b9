package export_cordon_provider_provider

// The answer's side of {{name}}: each server-sent event's data (one
// `chat.completion.chunk` as JSON, or `[DONE]`) becomes normalized events.
// The turn (turn.go) calls onData for each event and onEnd when the body
// ends; `out` takes text, usage, metadata and the finish reason. This is the
// file to change for another API's stream.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	t "wit_component/cordon_provider_types"
)

var finishReasons = map[string]t.FinishReason{
	"stop":           t.FinishReason_Stop,
	"length":         t.FinishReason_Length,
	"content_filter": t.FinishReason_ContentFilter,
	"tool_calls":     t.FinishReason_ToolCalls,
}

// chatStream is one turn's stream: `data:` chunks until `data: [DONE]`.
type chatStream struct {
	done bool
}

// streamError is a stream-protocol error quoting the start of the data.
func streamError(what string, data []byte) *t.ProviderError {
	if len(data) > 512 {
		data = data[:512]
	}
	err := providerError(t.ErrorKind_StreamProtocol, "%s: %s", what, data)
	return &err
}

func (s *chatStream) onData(data []byte, out *output) *t.ProviderError {
	if string(data) == "[DONE]" {
		s.done = true
		return nil
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber() // counts are read as whole numbers below, as JSON wrote them
	var value any
	if err := decoder.Decode(&value); err != nil || decoder.More() {
		why := "text after the end of the document"
		if err != nil {
			why = err.Error()
		}
		return streamError("invalid JSON in a stream chunk ("+why+")", data)
	}
	chunk, ok := value.(map[string]any)
	if !ok {
		return streamError("a stream chunk is not a JSON object", data)
	}
	id, hasID := chunk["id"].(string)
	model, hasModel := chunk["model"].(string)
	created, hasCreated := count(chunk["created"])
	out.metadata(optional(id, hasID), optional(model, hasModel), optional(created, hasCreated))
	if choices, _ := chunk["choices"].([]any); len(choices) > 0 {
		choice, _ := choices[0].(map[string]any)
		delta, _ := choice["delta"].(map[string]any)
		if content, ok := delta["content"].(string); ok {
			out.text(content)
		}
		if reason, ok := choice["finish_reason"].(string); ok {
			unified, known := finishReasons[reason]
			if !known {
				unified = t.FinishReason_Other
			}
			out.setFinish(unified, reason)
		}
	}
	if usage, ok := chunk["usage"].(map[string]any); ok {
		prompt, hasPrompt := count(usage["prompt_tokens"])
		completion, hasCompletion := count(usage["completion_tokens"])
		out.addUsage(optional(prompt, hasPrompt), optional(completion, hasCompletion))
	}
	return nil
}

func (s *chatStream) onEnd(out *output) *t.ProviderError {
	if !s.done {
		err := providerError(t.ErrorKind_StreamProtocol, "the stream ended before `data: [DONE]`")
		return &err
	}
	return nil
}

// count reads a whole number from 0 to 2^64-1 (not 2.5, not -1, not "3").
func count(value any) (uint64, bool) {
	number, ok := value.(json.Number)
	if !ok || strings.ContainsAny(string(number), ".eE-") {
		return 0, false
	}
	n, err := strconv.ParseUint(string(number), 10, 64)
	return n, err == nil
}
