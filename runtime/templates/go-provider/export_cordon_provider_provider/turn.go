package export_cordon_provider_provider

// The `turn` resource of {{name}}, and the output its stream writes to.
//
// On its first Next a turn sends the native request through the host's
// `http` import (the host adds the API key), then reads the body a piece at
// a time with Body.Read, splits it into server-sent events (sse.go) and
// passes each event's data to chat.go. Each Next returns the events one read
// produced. A failure becomes one `error` event, after which Next returns
// none. The result for Finalize is assembled as the events go by.

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	http "wit_component/cordon_provider_http"
	t "wit_component/cordon_provider_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// The first read is small, so the first events come quickly; each read then
// doubles, up to readMaxBytes.
const (
	readFirstBytes = 2 << 10
	readMaxBytes   = 64 << 10
	// The most of an error answer's body read, and the most kept in the error.
	errorBodyBytes = 4 << 10
	excerptBytes   = 512
	// How much of the body is read between two garbage collections (below).
	collectEveryBytes = 1 << 20
)

// Go's garbage collector must not run while the host copies data into this
// instance (a body piece, a request: the bindings' cabi_realloc allocates
// the room): a collection can call WASI imports, which the component model
// forbids at that moment, and the instance traps with "cannot leave
// component instance" (seen on long answers). So automatic collection is
// off, and the turn collects by itself between reads (Turn.read).
func init() {
	debug.SetGCPercent(-1)
}

// optional is Some(value) when ok, else None.
func optional[T any](value T, ok bool) witTypes.Option[T] {
	if ok {
		return witTypes.Some(value)
	}
	return witTypes.None[T]()
}

// output is where the stream puts events: batched for the next Next, and
// assembled into the turn's result as they go by.
type output struct {
	batch       []t.Event
	answer      strings.Builder // all the answer's text so far
	usage       t.Usage         // the totals known so far
	finish      *t.Finish       // why the model stopped: sent once the body ends
	responseID  witTypes.Option[string]
	model       witTypes.Option[string]
	hasMetadata bool
}

// text is answer text (empty text is dropped).
func (out *output) text(text string) {
	if text != "" {
		out.answer.WriteString(text)
		out.batch = append(out.batch, t.MakeEventTextDelta(text))
	}
}

// addUsage records token counts: known ones replace earlier ones; the event
// carries the totals.
func (out *output) addUsage(inputTokens, outputTokens witTypes.Option[uint64]) {
	if inputTokens.IsSome() {
		out.usage.InputTokens = inputTokens
	}
	if outputTokens.IsSome() {
		out.usage.OutputTokens = outputTokens
	}
	out.batch = append(out.batch, t.MakeEventUsage(out.usage))
}

// metadata records the response's id, model and time: the first report wins.
func (out *output) metadata(id, model witTypes.Option[string], created witTypes.Option[uint64]) {
	if out.hasMetadata {
		return
	}
	out.hasMetadata = id.IsSome() || model.IsSome()
	out.responseID, out.model = id, model
	out.batch = append(out.batch, t.MakeEventResponseMetadata(t.ResponseMetadata{Id: id, Model: model, Timestamp: created}))
}

// setFinish records why the model stopped; it is sent as the last event.
func (out *output) setFinish(reason t.FinishReason, raw string) {
	out.finish = &t.Finish{Reason: reason, Raw: witTypes.Some(raw)}
}

// lastFinish is the recorded finish, or `other` when the API never said.
func (out *output) lastFinish() t.Finish {
	if out.finish == nil {
		return t.Finish{Reason: t.FinishReason_Other}
	}
	return *out.finish
}

type phase int

const (
	notSent phase = iota
	reading
	over
)

// Turn is the exported `turn` resource. The bindings use `pinner` and
// `handle`; the rest is the turn's own.
type Turn struct {
	pinner runtime.Pinner
	handle int32

	request  t.NativeRequest // until it is sent
	phase    phase
	body     *http.Body // while reading
	readSize uint32
	unswept  int // bytes read since the last garbage collection
	events   sseDecoder
	stream   chatStream
	out      output
	failure  *t.ProviderError
}

// MakeTurn starts a turn. It must not block: the request is sent on the first Next.
func MakeTurn(state t.State, request t.NativeRequest) *Turn {
	return &Turn{request: request, readSize: readFirstBytes}
}

// Next returns the next batch of events (at least one), or none when the turn is over.
func (turn *Turn) Next() witTypes.Option[[]t.Event] {
	for turn.phase != over && len(turn.out.batch) == 0 {
		if turn.phase == notSent {
			turn.send()
		} else {
			turn.read()
		}
	}
	if len(turn.out.batch) == 0 {
		return witTypes.None[[]t.Event]()
	}
	batch := turn.out.batch
	turn.out.batch = nil
	return witTypes.Some(batch)
}

// OnDrop runs when the host drops the turn: let go of the body.
func (turn *Turn) OnDrop() {
	if turn.body != nil {
		turn.body.Drop()
		turn.body = nil
	}
}

// fail ends the turn with one `error` event; Finalize returns the same error.
func (turn *Turn) fail(err t.ProviderError) {
	err.OutputStreamed = turn.out.answer.Len() > 0
	turn.failure = &err
	turn.out.batch = append(turn.out.batch, t.MakeEventError(err))
	turn.end()
}

func (turn *Turn) end() {
	turn.phase = over
	turn.OnDrop()
}

func (turn *Turn) send() {
	sent := http.Send(turn.request.Http)
	turn.request = t.NativeRequest{}
	if sent.IsErr() {
		turn.fail(brokerError(sent.Err()))
		return
	}
	response := sent.Ok()
	turn.body = response.Body
	turn.phase = reading
	if response.Status >= 400 {
		turn.fail(statusError(response))
	}
}

func (turn *Turn) read() {
	if turn.unswept >= collectEveryBytes {
		runtime.GC() // see init
		turn.unswept = 0
	}
	piece := turn.body.Read(turn.readSize)
	turn.readSize = min(turn.readSize*2, readMaxBytes)
	handle := func(data []byte) *t.ProviderError { return turn.stream.onData(data, &turn.out) }
	var err *t.ProviderError
	switch {
	case piece.IsErr():
		failure := brokerError(piece.Err())
		err = &failure
	case piece.Ok().IsSome():
		turn.unswept += len(piece.Ok().Some())
		err = turn.events.feed(piece.Ok().Some(), handle)
	default: // the end of the body
		if err = turn.events.finish(handle); err == nil {
			err = turn.stream.onEnd(&turn.out)
		}
		if err == nil {
			turn.out.batch = append(turn.out.batch, t.MakeEventFinish(turn.out.lastFinish()))
			turn.end()
		}
	}
	if err != nil {
		turn.fail(*err)
	}
}

// result is the assembled `turn-result`, for Finalize.
func (turn *Turn) result() (t.TurnResult, *t.ProviderError) {
	if turn.failure != nil {
		return t.TurnResult{}, turn.failure
	}
	if turn.phase != over {
		err := providerError(t.ErrorKind_StreamProtocol, "finalize was called before the turn's stream ended")
		return t.TurnResult{}, &err
	}
	var content []t.ContentPart
	if turn.out.answer.Len() > 0 {
		content = append(content, t.MakeContentPartText(turn.out.answer.String()))
	}
	return t.TurnResult{
		Content:    content,
		Usage:      turn.out.usage,
		Finish:     turn.out.lastFinish(),
		ResponseId: turn.out.responseID,
		Model:      turn.out.model,
	}, nil
}

// maxJSONAnswerBytes is the most of a getJSON answer read.
const maxJSONAnswerBytes = 8 << 20

// getJSON sends `request` through the host (which adds the API key) and
// decodes the whole body of a 2xx answer as JSON into `into` (ListModels and
// Health use it); an error answer, a host failure or a body that is not the
// JSON expected is a provider error.
func getJSON(request t.OutgoingRequest, into any) *t.ProviderError {
	sent := http.Send(request)
	if sent.IsErr() {
		err := brokerError(sent.Err())
		return &err
	}
	response := sent.Ok()
	defer response.Body.Drop()
	if response.Status >= 400 {
		err := statusError(response)
		return &err
	}
	var body []byte
	for {
		piece := response.Body.Read(readMaxBytes)
		if piece.IsErr() {
			err := brokerError(piece.Err())
			return &err
		}
		if piece.Ok().IsNone() {
			break
		}
		body = append(body, piece.Ok().Some()...)
		if len(body) > maxJSONAnswerBytes {
			err := providerError(t.ErrorKind_LimitExceeded, "the answer is larger than %d bytes", maxJSONAnswerBytes)
			return &err
		}
	}
	if err := json.Unmarshal(body, into); err != nil {
		failure := providerError(t.ErrorKind_StreamProtocol, "the answer is not the JSON expected (%v)", err)
		return &failure
	}
	return nil
}

// brokerError is the host's `http-error` (denied, timeout, ...) as a provider error.
func brokerError(failure http.HttpError) t.ProviderError {
	kind := t.ErrorKind_Network // connect, protocol
	switch failure.Kind {
	case http.HttpErrorKind_Denied:
		kind = t.ErrorKind_Denied
	case http.HttpErrorKind_InvalidRequest:
		kind = t.ErrorKind_InvalidRequest
	case http.HttpErrorKind_Timeout:
		kind = t.ErrorKind_Timeout
	case http.HttpErrorKind_TooLarge, http.HttpErrorKind_Limit:
		kind = t.ErrorKind_LimitExceeded
	}
	return providerError(kind, "%s", failure.Message)
}

var statusKinds = map[uint16]t.ErrorKind{
	400: t.ErrorKind_InvalidRequest, 401: t.ErrorKind_Auth, 402: t.ErrorKind_Quota, 403: t.ErrorKind_Permission,
	404: t.ErrorKind_ModelNotFound, 408: t.ErrorKind_Timeout, 413: t.ErrorKind_InvalidRequest,
	422: t.ErrorKind_InvalidRequest, 429: t.ErrorKind_RateLimited, 529: t.ErrorKind_Overloaded,
}

// statusError is the error for an HTTP error answer: the status's kind,
// `retry-after`, and a bounded excerpt of the body.
func statusError(response http.Response) t.ProviderError {
	var body []byte
	for len(body) < errorBodyBytes {
		piece := response.Body.Read(uint32(errorBodyBytes - len(body)))
		if piece.IsErr() || piece.Ok().IsNone() {
			break // keep what came
		}
		body = append(body, piece.Ok().Some()...)
	}
	kind, known := statusKinds[response.Status]
	if !known {
		kind = t.ErrorKind_Other
		if response.Status >= 500 && response.Status <= 599 {
			kind = t.ErrorKind_Server
		}
	}
	err := providerError(kind, "upstream answered HTTP %d", response.Status)
	err.Status = witTypes.Some(response.Status)
	err.RetryAfterMs = retryAfterMs(response.Headers)
	if excerpt := excerpt(body); excerpt != "" {
		err.BodyExcerpt = witTypes.Some(excerpt)
	}
	return err
}

// retryAfterMs is how long the upstream asks us to wait: `retry-after-ms`,
// else `retry-after` in seconds (an HTTP date is not read).
func retryAfterMs(headers []t.Header) witTypes.Option[uint64] {
	for _, name := range []string{"retry-after-ms", "retry-after"} {
		for _, header := range headers {
			if !strings.EqualFold(header.Name, name) {
				continue
			}
			number, err := strconv.ParseFloat(strings.TrimSpace(header.Value), 64)
			if err != nil || !(number >= 0 && number < 1e15) {
				break
			}
			if name == "retry-after" {
				number *= 1000
			}
			return witTypes.Some(uint64(number + 0.5))
		}
	}
	return witTypes.None[uint64]()
}

// excerpt is at most excerptBytes of a body, cut at a character, trimmed, UTF-8.
func excerpt(body []byte) string {
	text := strings.ToValidUTF8(string(body), "\uFFFD")
	if len(text) <= excerptBytes {
		return strings.TrimSpace(text)
	}
	end := excerptBytes
	for end > 0 && text[end]&0xC0 == 0x80 {
		end--
	}
	return strings.TrimSpace(text[:end]) + "…"
}
