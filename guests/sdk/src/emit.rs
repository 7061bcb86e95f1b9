//! The [`Emitter`]: where a stream handler puts events. It batches them for the
//! next boundary crossing and assembles the turn's result as they go by, so a
//! provider never writes assembly code. Native drivers (a provider's tests,
//! benchmarks) read a batch with [`joined_text`], [`joined_reasoning`] and
//! [`tool_calls`].

use crate::{
    ContentPart, Event, Finish, FinishReason, ProviderError, ReasoningDelta, ReasoningPart,
    ResponseMetadata, ToolCall, ToolCallDelta, ToolCallStart, TurnResult, Usage,
};

/// Collects a turn's events and assembles its result.
#[derive(Debug)]
pub struct Emitter {
    batch: Vec<Event>,
    content: Vec<ContentPart>,
    usage: Usage,
    finish: Option<Finish>,
    response_id: Option<String>,
    model: Option<String>,
    output_streamed: bool,
    has_tool_calls: bool,
    provider_metadata: Option<String>,
    failure: Option<ProviderError>,
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter {
            batch: Vec::with_capacity(64),
            content: Vec::new(),
            usage: empty_usage(),
            finish: None,
            response_id: None,
            model: None,
            output_streamed: false,
            has_tool_calls: false,
            provider_metadata: None,
            failure: None,
        }
    }
}

/// The text deltas of `events`, joined.
pub fn joined_text(events: &[Event]) -> String {
    events.iter().filter_map(|event| if let Event::TextDelta(text) = event { Some(text.as_str()) } else { None }).collect()
}

/// The reasoning text of `events`, joined.
pub fn joined_reasoning(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|event| if let Event::ReasoningDelta(delta) = event { Some(delta.text.as_str()) } else { None })
        .collect()
}

/// The complete tool calls of `events`, in order.
pub fn tool_calls(events: &[Event]) -> Vec<&ToolCall> {
    events.iter().filter_map(|event| if let Event::ToolCall(call) = event { Some(call) } else { None }).collect()
}

/// A usage record with nothing known.
pub fn empty_usage() -> Usage {
    Usage {
        input_tokens: None,
        output_tokens: None,
        cache_read_tokens: None,
        cache_write_tokens: None,
        reasoning_tokens: None,
        raw: None,
    }
}

impl Emitter {
    /// Answer text. Empty text is dropped.
    pub fn text(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        match self.content.last_mut() {
            Some(ContentPart::Text(last)) => last.push_str(&text),
            _ => self.content.push(ContentPart::Text(text.clone())),
        }
        self.output_streamed = true;
        self.batch.push(Event::TextDelta(text));
    }

    /// Reasoning text. Empty text is dropped.
    pub fn reasoning(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        self.reasoning_part().text.push_str(&text);
        self.output_streamed = true;
        self.batch.push(Event::ReasoningDelta(ReasoningDelta {
            text,
            signature: None,
            redacted: None,
        }));
    }

    /// The signature of the reasoning so far.
    pub fn reasoning_signature(&mut self, signature: String) {
        self.reasoning_part().signature = Some(signature.clone());
        self.batch.push(Event::ReasoningDelta(ReasoningDelta {
            text: String::new(),
            signature: Some(signature),
            redacted: None,
        }));
    }

    /// Opaque redacted reasoning (e.g. Anthropic's `redacted_thinking`), kept so
    /// it can be sent back to the provider unchanged.
    pub fn reasoning_redacted(&mut self, data: String) {
        self.reasoning_block();
        self.reasoning_part().redacted = Some(data.clone());
        self.output_streamed = true;
        self.batch.push(Event::ReasoningDelta(ReasoningDelta {
            text: String::new(),
            signature: None,
            redacted: Some(data),
        }));
    }

    /// Start a new reasoning block (the next reasoning text does not join the last one).
    pub fn reasoning_block(&mut self) {
        self.content.push(ContentPart::Reasoning(ReasoningPart {
            text: String::new(),
            signature: None,
            redacted: None,
        }));
    }

    fn reasoning_part(&mut self) -> &mut ReasoningPart {
        if !matches!(self.content.last(), Some(ContentPart::Reasoning(_))) {
            self.reasoning_block();
        }
        match self.content.last_mut() {
            Some(ContentPart::Reasoning(part)) => part,
            _ => unreachable!("a reasoning part was just pushed"),
        }
    }

    /// A tool call begins.
    pub fn tool_call_start(&mut self, id: String, name: String) {
        self.output_streamed = true;
        self.batch.push(Event::ToolCallStart(ToolCallStart { id, name }));
    }

    /// A fragment of a tool call's arguments.
    pub fn tool_call_delta(&mut self, id: String, arguments: String) {
        self.batch.push(Event::ToolCallDelta(ToolCallDelta { id, arguments }));
    }

    /// A complete tool call. Call only once the provider says the call is complete.
    pub fn tool_call(&mut self, call: ToolCall) {
        self.output_streamed = true;
        self.has_tool_calls = true;
        self.content.push(ContentPart::ToolCall(call.clone()));
        self.batch.push(Event::ToolCall(call));
    }

    /// Usage numbers. Known fields replace earlier ones; the event carries the
    /// totals known so far, so the last usage event is the turn's usage.
    pub fn usage(&mut self, usage: Usage) {
        let merged = &mut self.usage;
        let keep = |new: Option<u64>, old: &mut Option<u64>| {
            if new.is_some() {
                *old = new;
            }
        };
        keep(usage.input_tokens, &mut merged.input_tokens);
        keep(usage.output_tokens, &mut merged.output_tokens);
        keep(usage.cache_read_tokens, &mut merged.cache_read_tokens);
        keep(usage.cache_write_tokens, &mut merged.cache_write_tokens);
        keep(usage.reasoning_tokens, &mut merged.reasoning_tokens);
        if usage.raw.is_some() {
            merged.raw = usage.raw;
        }
        self.batch.push(Event::Usage(self.usage.clone()));
    }

    /// Response id, model and time, as the upstream reports them (first report wins).
    pub fn metadata(&mut self, id: Option<&str>, model: Option<&str>, timestamp: Option<u64>) {
        if self.response_id.is_some() || self.model.is_some() {
            return;
        }
        self.response_id = id.map(str::to_owned);
        self.model = model.map(str::to_owned);
        self.batch.push(Event::ResponseMetadata(ResponseMetadata {
            id: self.response_id.clone(),
            model: self.model.clone(),
            timestamp,
        }));
    }

    /// Why generation stopped. Emitted as the turn's last event once the stream
    /// ends; `stop` becomes `tool-calls` when tool calls were emitted.
    pub fn finish(&mut self, reason: FinishReason, raw: Option<String>) {
        self.finish = Some(Finish { reason, raw });
    }

    /// The result's provider metadata (JSON text; the host keeps at most one
    /// event's size of it). It is not an event: it reaches the caller with the
    /// turn's result. A later call replaces it.
    pub fn provider_metadata(&mut self, json: String) {
        self.provider_metadata = Some(json);
    }

    /// Whether a finish reason was recorded.
    pub fn has_finish(&self) -> bool {
        self.finish.is_some()
    }

    /// Whether any output (text, reasoning, tool calls) has been emitted.
    pub fn output_streamed(&self) -> bool {
        self.output_streamed
    }

    pub(crate) fn emit_finish(&mut self) {
        let finish = self.final_finish();
        self.batch.push(Event::Finish(finish));
    }

    fn final_finish(&self) -> Finish {
        match &self.finish {
            Some(Finish { reason: FinishReason::Stop, raw }) if self.has_tool_calls => Finish {
                reason: FinishReason::ToolCalls,
                raw: raw.clone(),
            },
            Some(finish) => finish.clone(),
            None => Finish { reason: FinishReason::Other, raw: None },
        }
    }

    pub(crate) fn fail(&mut self, mut error: ProviderError) {
        error.output_streamed = self.output_streamed;
        self.batch.push(Event::Error(error.clone()));
        self.failure = Some(error);
    }

    pub(crate) fn has_events(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Take the events emitted since the last call. The turn runner hands them
    /// to the host; native drivers (tests, benchmarks) read them the same way.
    pub fn take_batch(&mut self) -> Vec<Event> {
        std::mem::replace(&mut self.batch, Vec::with_capacity(64))
    }

    /// The turn's assembled result (what `finalize` returns; native drivers,
    /// such as a provider's tests, read it the same way), or its failure.
    pub fn into_result(self) -> Result<TurnResult, ProviderError> {
        if let Some(error) = self.failure {
            return Err(error);
        }
        let finish = self.final_finish();
        Ok(TurnResult {
            content: self.content,
            usage: self.usage,
            finish,
            response_id: self.response_id,
            model: self.model,
            provider_metadata: self.provider_metadata,
        })
    }
}
