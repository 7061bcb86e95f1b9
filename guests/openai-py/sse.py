"""An incremental server-sent events decoder: bytes in, events out, split at
any byte. The same rules as the Rust SDK's (`guests/sdk/src/sse.rs`): lines end
in LF, CRLF or CR (a CR at the end of a chunk may be followed by the LF in the
next one); a blank line dispatches the event; `data:` lines are joined with
`\\n`; lines starting with `:` are comments; one space after the colon is
dropped; unknown fields are ignored; invalid UTF-8 in a value is replaced.
Only the unfinished line is kept between chunks.
"""

import re

_LINE_END = re.compile(b"[\r\n]")


class SseDecoder:
    def __init__(self):
        self._partial = bytearray()
        self._skip_leading_lf = False
        self._event = ""
        self._data = []
        self._id = ""
        self._has_data = False
        self._has_id = False

    def feed(self, chunk, on_event):
        """Decode `chunk` (bytes), calling `on_event(event, data, id)` for each
        complete event. An exception from `on_event` stops decoding."""
        start = 0
        size = len(chunk)
        if self._skip_leading_lf and size:  # an empty chunk says nothing about the byte after a CR
            self._skip_leading_lf = False
            if chunk[0] == 0x0A:
                start = 1
        search = _LINE_END.search
        while True:
            found = search(chunk, start)
            if found is None:
                break
            end = found.start()
            step = 1
            if chunk[end] == 0x0D:
                if end + 1 < size:
                    if chunk[end + 1] == 0x0A:
                        step = 2
                else:
                    self._skip_leading_lf = True
            if self._partial:
                self._partial += chunk[start:end]
                line = bytes(self._partial)
                self._partial.clear()
            else:
                line = chunk[start:end]
            self._line(line, on_event)
            start = end + step
        if start < size:
            self._partial += chunk[start:]

    def finish(self, on_event):
        """End of input: a last event without its blank line is still delivered,
        an unfinished line counts as ended."""
        if self._partial:
            line = bytes(self._partial)
            self._partial.clear()
            self._line(line, on_event)
        self._dispatch(on_event)

    def _line(self, line, on_event):
        if not line:
            self._dispatch(on_event)
            return
        if line[0] == 0x3A:  # ':' starts a comment
            return
        colon = line.find(b":")
        if colon >= 0:
            field = line[:colon]
            value = line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        else:
            field = line
            value = b""
        if field == b"data":
            self._data.append(value.decode("utf-8", "replace"))
            self._has_data = True
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"id":
            text = value.decode("utf-8", "replace")
            if "\0" not in text:
                self._id = text
                self._has_id = True

    def _dispatch(self, on_event):
        try:
            if self._has_data:
                on_event(self._event, "\n".join(self._data), self._id if self._has_id else None)
        finally:
            self._event = ""
            self._data = []
            self._has_data = False
            self._has_id = False
