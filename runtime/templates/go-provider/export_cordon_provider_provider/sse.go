package export_cordon_provider_provider

import (
	"bytes"

	t "wit_component/cordon_provider_types"
)

// maxEventBytes bounds one server-sent event (its unfinished line and its data).
const maxEventBytes = 1 << 20

// tooLarge is the error for an event over maxEventBytes.
func tooLarge() *t.ProviderError {
	err := providerError(t.ErrorKind_LimitExceeded, "a server-sent event is larger than %s accepts", Name)
	return &err
}

// dataHandler handles one event's data (valid only during the call).
type dataHandler func(data []byte) *t.ProviderError

// sseDecoder splits a body into server-sent events, piece by piece: lines end
// in LF, CRLF or CR; a blank line ends an event, whose `data:` lines are
// joined with "\n"; lines starting with `:` are comments; one space after the
// colon is dropped; other fields (`event:`, `id:`, `retry:`) do not matter
// here. A piece may end anywhere, even inside a line ending or a character:
// only the unfinished line is kept between pieces.
type sseDecoder struct {
	line    []byte // the unfinished line
	data    []byte // the event's data so far
	hasData bool
	skipLF  bool // the last piece ended in CR: a leading LF belongs to it
}

// feed decodes one piece of the body, calling handle with each complete
// event's data. It stops at the first error.
func (d *sseDecoder) feed(piece []byte, handle dataHandler) *t.ProviderError {
	if d.skipLF && len(piece) > 0 {
		d.skipLF = false
		piece = bytes.TrimPrefix(piece, []byte("\n"))
	}
	for len(piece) > 0 {
		end := bytes.IndexByte(piece, '\n')
		if cr := bytes.IndexByte(piece, '\r'); cr >= 0 && (end < 0 || cr < end) {
			end = cr
		}
		if end < 0 {
			return d.keep(piece) // no line ending yet
		}
		var err *t.ProviderError
		if len(d.line) == 0 {
			err = d.onLine(piece[:end], handle) // the whole line is in this piece
		} else if err = d.keep(piece[:end]); err == nil {
			err = d.onLine(d.line, handle)
			d.line = d.line[:0]
		}
		if err != nil {
			return err
		}
		next := end + 1
		if piece[end] == '\r' && end+1 == len(piece) {
			d.skipLF = true // a CRLF may be split between two pieces
		} else if piece[end] == '\r' && piece[end+1] == '\n' {
			next = end + 2
		}
		piece = piece[next:]
	}
	return nil
}

// finish ends the body: a last line or event without its blank line still counts.
func (d *sseDecoder) finish(handle dataHandler) *t.ProviderError {
	if len(d.line) > 0 {
		line := d.line
		d.line = nil
		if err := d.onLine(line, handle); err != nil {
			return err
		}
	}
	return d.dispatch(handle)
}

// keep holds the start of a line for the next piece, within bounds.
func (d *sseDecoder) keep(part []byte) *t.ProviderError {
	if len(d.line)+len(part) > maxEventBytes {
		return tooLarge()
	}
	d.line = append(d.line, part...)
	return nil
}

func (d *sseDecoder) onLine(line []byte, handle dataHandler) *t.ProviderError {
	if len(line) == 0 {
		return d.dispatch(handle)
	}
	if line[0] == ':' {
		return nil // a comment
	}
	field, value, _ := bytes.Cut(line, []byte(":"))
	if string(field) != "data" {
		return nil
	}
	value = bytes.TrimPrefix(value, []byte(" "))
	if len(d.data)+1+len(value) > maxEventBytes {
		return tooLarge()
	}
	if d.hasData {
		d.data = append(d.data, '\n')
	}
	d.data = append(d.data, value...)
	d.hasData = true
	return nil
}

func (d *sseDecoder) dispatch(handle dataHandler) *t.ProviderError {
	if !d.hasData {
		return nil
	}
	err := handle(d.data)
	d.data = d.data[:0]
	d.hasData = false
	return err
}
