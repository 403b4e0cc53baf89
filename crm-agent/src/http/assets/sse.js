// The Server-Sent Events parser the chat stream is read with (no DOM).

// ---------------------------------------------------------------------------------------------
// Server-Sent Events parser (https://html.spec.whatwg.org/multipage/server-sent-events.html)

/**
 * Incremental SSE parser: feed it decoded text in chunks split anywhere; it calls
 * `onEvent({event, data, id})` for every complete event. Handles CRLF, LF and CR line ends
 * (a CRLF split across chunks too), multi-line `data`, comments and fields without a value.
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.line = '';
    this.skipLf = false;
    this.first = true;
    this.reset();
  }

  reset() {
    this.data = [];
    this.hasData = false;
    this.event = '';
    this.id = undefined;
  }

  push(chunk) {
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (this.skipLf && text.length > 0) {
      if (text[0] === '\n') start = 1;
      this.skipLf = false;
    }
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      const line = this.line + text.slice(start, i);
      this.line = '';
      if (c === '\r') {
        if (i + 1 < text.length) {
          if (text[i + 1] === '\n') i++;
        } else {
          this.skipLf = true;
        }
      }
      start = i + 1;
      this.processLine(line);
    }
    this.line += text.slice(start);
  }

  /** The stream ended: a last event without its blank line is still delivered. */
  end() {
    if (this.line) this.processLine(this.line);
    this.line = '';
    this.dispatch();
  }

  processLine(line) {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line[0] === ':') return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value;
    }
  }

  dispatch() {
    if (this.hasData) this.onEvent({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
    this.reset();
  }
}
