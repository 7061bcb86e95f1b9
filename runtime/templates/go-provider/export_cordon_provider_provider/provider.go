// Package export_cordon_provider_provider is {{name}}: a Cordon provider for
// an OpenAI-compatible chat API, made by `cordon new provider --lang go`. It
// sends the conversation's text, streams text deltas back, and reports usage
// and the finish reason; grow it from here (tools, reasoning, images: see
// `guests/openai` in the Cordon repository for what the API sends).
//
// The generated bindings call this package for the exported
// `cordon:provider/provider` interface (its folder's name is what makes this
// a provider): this file holds `Info`, `Init` (checks the base URL, keeps the
// settings), `ToNative` (the request), `Finalize`, and `ListModels` and
// `Health` (`GET {base}/models`, contract 0.2.0). The answer of a turn is read by
// the `Turn` resource in turn.go, which splits the body into server-sent
// events (sse.go) and hands each event's data to chat.go.
package export_cordon_provider_provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	api "wit_component/cordon_provider_provider"
	t "wit_component/cordon_provider_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Name and Version describe the provider; keep them equal to cordon.toml's.
const (
	Name    = "{{name}}"
	Version = "0.1.0"
)

// DefaultBaseURL is where requests go unless the configuration names another.
const DefaultBaseURL = "https://api.example.com/v1"

// apiKeySecret is the secret the manifest declares; the host adds its value
// to the request.
const apiKeySecret = "api-key"

// providerError is a `provider-error` of `kind`.
func providerError(kind t.ErrorKind, format string, args ...any) t.ProviderError {
	retryable := kind == t.ErrorKind_RateLimited || kind == t.ErrorKind_Overloaded || kind == t.ErrorKind_Server ||
		kind == t.ErrorKind_Timeout || kind == t.ErrorKind_Network
	// Every string handed to the host must be UTF-8.
	message := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	return t.ProviderError{Kind: kind, Message: message, Retryable: retryable}
}

// settings are what the state keeps.
type settings struct {
	BaseURL      string  `json:"base_url"`
	DefaultModel *string `json:"default_model"`
}

// Info describes the provider. It must not fail or call the host.
func Info() api.ProviderInfo {
	return api.ProviderInfo{
		Name:              Name,
		Version:           Version,
		Capabilities:      []api.Capability{api.Capability_Streaming},
		SupportedSettings: []string{"max-output-tokens", "temperature"},
	}
}

// Init checks the configuration and makes the state (the host keeps it and
// hands it back on every call).
func Init(config t.ProviderConfig) witTypes.Result[t.State, t.ProviderError] {
	baseURL := config.BaseUrl.SomeOr(DefaultBaseURL)
	if !strings.HasPrefix(baseURL, "https://") && !strings.HasPrefix(baseURL, "http://") {
		return witTypes.Err[t.State](providerError(t.ErrorKind_Config, "base URL `%s` must start with http:// or https://", baseURL))
	}
	kept := settings{BaseURL: strings.TrimRight(baseURL, "/")}
	if config.DefaultModel.IsSome() {
		model := config.DefaultModel.Some()
		kept.DefaultModel = &model
	}
	data, err := json.Marshal(kept)
	if err != nil {
		return witTypes.Err[t.State](providerError(t.ErrorKind_Config, "cannot keep the settings: %v", err))
	}
	return witTypes.Ok[t.State, t.ProviderError](t.State{ProducerVersion: Version, Data: data})
}

// The request body (the fields' order is the JSON's).
type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions streamOptions `json:"stream_options"`
	MaxTokens     *uint32       `json:"max_tokens,omitempty"`
	Temperature   any           `json:"temperature,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

var roles = map[t.Role]string{
	t.Role_System:    "system",
	t.Role_User:      "user",
	t.Role_Assistant: "assistant",
	t.Role_Tool:      "tool",
}

// loadSettings reads the settings Init kept in the state.
func loadSettings(state t.State) (settings, *t.ProviderError) {
	var kept settings
	if err := json.Unmarshal(state.Data, &kept); err != nil || kept.BaseURL == "" {
		why := "no base_url"
		if err != nil {
			why = err.Error()
		}
		failure := providerError(t.ErrorKind_Config,
			"the provider state (written by version %s) is unreadable (%s); re-run init", state.ProducerVersion, why)
		return kept, &failure
	}
	return kept, nil
}

// ToNative translates a normalized request into the API's HTTP request.
func ToNative(state t.State, request t.Request) witTypes.Result[t.NativeRequest, t.ProviderError] {
	fail := witTypes.Err[t.NativeRequest, t.ProviderError]
	kept, failure := loadSettings(state)
	if failure != nil {
		return fail(*failure)
	}
	model := request.Model
	if model == "" && kept.DefaultModel != nil {
		model = *kept.DefaultModel
	}
	if model == "" {
		return fail(providerError(t.ErrorKind_Config,
			"the request names no model and the provider has no default model: pass a model"))
	}
	var warnings []t.Warning
	body := chatRequest{Model: model, Messages: []chatMessage{}, Stream: true, StreamOptions: streamOptions{IncludeUsage: true}}
	for _, message := range request.Messages {
		var text strings.Builder
		for _, part := range message.Parts {
			if part.Tag() == t.Part_Text {
				text.WriteString(part.Text())
			} else {
				warnings = append(warnings, t.Warning{Kind: t.WarningKind_Other,
					Message: "this provider sends text only; a non-text part was left out"})
			}
		}
		body.Messages = append(body.Messages, chatMessage{Role: roles[message.Role], Content: text.String()})
	}
	if request.Sampling.MaxOutputTokens.IsSome() {
		tokens := request.Sampling.MaxOutputTokens.Some()
		body.MaxTokens = &tokens
	}
	if request.Sampling.Temperature.IsSome() {
		temperature := request.Sampling.Temperature.Some()
		body.Temperature = temperature // a float32: written as its shortest decimal, 0.7
		if math.IsNaN(float64(temperature)) || math.IsInf(float64(temperature), 0) {
			body.Temperature = json.RawMessage("null") // JSON has no NaN
		}
	}
	var encoded bytes.Buffer
	encoder := json.NewEncoder(&encoded)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(body); err != nil {
		return fail(providerError(t.ErrorKind_Config, "cannot encode the request: %v", err))
	}
	return witTypes.Ok[t.NativeRequest, t.ProviderError](t.NativeRequest{
		Http: t.OutgoingRequest{
			Method: "POST",
			Url:    kept.BaseURL + "/chat/completions",
			Headers: []t.Header{
				{Name: "content-type", Value: "application/json"},
				{Name: "accept", Value: "text/event-stream"},
			},
			Body:    bytes.TrimRight(encoded.Bytes(), "\n"),
			Secrets: []string{apiKeySecret},
		},
		Framing:  t.Framing_Sse,
		Warnings: warnings,
	})
}

// Finalize assembles the result of a finished turn; the state is unchanged.
func Finalize(state t.State, turn *Turn) witTypes.Result[t.Finalized, t.ProviderError] {
	result, err := turn.result()
	turn.Drop() // the host handed the turn over: release it
	if err != nil {
		return witTypes.Err[t.Finalized](*err)
	}
	return witTypes.Ok[t.Finalized, t.ProviderError](t.Finalized{Result: result, State: state})
}

// modelsList is the models answer: OpenAI's `{"data": [{"id": ...}, ...]}`.
type modelsList struct {
	Data []struct {
		ID string `json:"id"`
	} `json:"data"`
}

// modelsRequest is `GET {base}/models` (the host adds the API key).
func modelsRequest(kept settings) t.OutgoingRequest {
	return t.OutgoingRequest{
		Method:  "GET",
		Url:     kept.BaseURL + "/models",
		Headers: []t.Header{{Name: "accept", Value: "application/json"}},
		Secrets: []string{apiKeySecret},
	}
}

// ListModels lists the models the upstream offers.
func ListModels(state t.State) witTypes.Result[[]api.ModelInfo, t.ProviderError] {
	fail := witTypes.Err[[]api.ModelInfo, t.ProviderError]
	kept, failure := loadSettings(state)
	if failure != nil {
		return fail(*failure)
	}
	var list modelsList
	if failure := getJSON(modelsRequest(kept), &list); failure != nil {
		return fail(*failure)
	}
	notAList := providerError(t.ErrorKind_StreamProtocol, `the models answer is not {"data": [{"id": ...}, ...]}`)
	if list.Data == nil {
		return fail(notAList)
	}
	models := make([]api.ModelInfo, 0, len(list.Data))
	for _, model := range list.Data {
		if model.ID == "" {
			return fail(notAList)
		}
		models = append(models, api.ModelInfo{Id: model.ID})
	}
	return witTypes.Ok[[]api.ModelInfo, t.ProviderError](models)
}

// Health sends the models request as a cheap probe. It never fails: a rate
// limit, an overload or a server error is `degraded`, anything else `down`.
func Health(state t.State) api.HealthReport {
	kept, failure := loadSettings(state)
	if failure == nil {
		var answer json.RawMessage
		failure = getJSON(modelsRequest(kept), &answer)
	}
	if failure == nil {
		return api.HealthReport{Status: api.HealthStatus_Ok}
	}
	status := api.HealthStatus_Down
	if failure.Kind == t.ErrorKind_RateLimited || failure.Kind == t.ErrorKind_Overloaded || failure.Kind == t.ErrorKind_Server {
		status = api.HealthStatus_Degraded
	}
	return api.HealthReport{Status: status, Reason: witTypes.Some(failure.Message)}
}
