"""AT line parsing: command name, form, parameter fields (spec §1.5, D2, D3)."""

import re

MAX_AFTER_AT = 1024  # D3: longer lines give ERROR


class AtSyntaxError(Exception):
    """The line or its parameter list fits no form: plain ERROR whatever CMEE says (D2)."""


class Field:
    """One comma-separated parameter: its text, whether it was quoted, and its span."""

    __slots__ = ("text", "quoted", "start", "end")

    def __init__(self, text, quoted, start, end):
        self.text = text
        self.quoted = quoted
        self.start = start
        self.end = end

    @property
    def empty(self):
        return not self.quoted and self.text == ""

    @property
    def is_number(self):
        return self.text.isdigit() and self.text.isascii()

    @property
    def is_string(self):
        """A value that is not a number (quoted text, or an unquoted non-numeric token)."""
        return not self.empty and not self.is_number

    def service_value(self):
        """Encoding for the services interface: None, int (bare decimal) or str."""
        if self.empty:
            return None
        if not self.quoted and self.is_number:
            return int(self.text)
        return self.text

    def __repr__(self):
        return f"Field({self.text!r}, quoted={self.quoted})"


def split_fields(text, offset=0):
    """Split a parameter list on commas outside quotes; whitespace outside quotes is ignored.

    Raises AtSyntaxError for bad quoting (an unterminated string, text glued to a string).
    """
    fields = []
    i = 0
    n = len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        start = i
        if i < n and text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise AtSyntaxError("unterminated string")
            value = text[i + 1:close]
            i = close + 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] != ",":
                raise AtSyntaxError("text after a string")
            fields.append(Field(value, True, offset + start, offset + close + 1))
        else:
            chars = []
            end = i
            while i < n and text[i] != ",":
                ch = text[i]
                if ch == '"':
                    raise AtSyntaxError("quote inside a token")
                if ch not in " \t":
                    chars.append(ch)
                    end = i + 1
                i += 1
            fields.append(Field("".join(chars), False, offset + start, offset + end))
        if i >= n:
            break
        i += 1  # the comma
    return fields


class Command:
    """A parsed AT command line: name (upper case, e.g. '+WIPCFG', 'E', ''), form, fields.

    form is 'action' (no '=' / '?'), 'set', 'read' or 'test'.
    """

    def __init__(self, name, form, fields, arg, text):
        self.name = name
        self.form = form
        self.fields = fields
        self.arg = arg
        self.text = text

    def __repr__(self):
        return f"Command({self.name!r}, {self.form!r}, {self.fields!r})"


_EXT = re.compile(r"\+[A-Za-z][A-Za-z0-9]*")
_BASIC = re.compile(r"([A-Za-z&])\s*(\d*)\s*$")


def find_at(line):
    """Index of the first 'AT' (any case) in a line of text, or -1 (D3)."""
    return line.upper().find("AT")


def parse_command(body):
    """Parse the text after 'AT' into a Command. Raises AtSyntaxError."""
    text = body.lstrip(" \t")
    if text.rstrip(" \t") == "":
        return Command("", "action", [], "", body)
    if text[0] == "+":
        m = _EXT.match(text)
        if not m:
            raise AtSyntaxError("bad command name")
        name = m.group(0).upper()
        rest = text[m.end():].lstrip(" \t")
        if rest.rstrip(" \t") == "":
            return Command(name, "action", [], "", body)
        if rest.rstrip(" \t") == "?":
            return Command(name, "read", [], "", body)
        if rest[0] == "=":
            after = rest[1:]
            if after.strip(" \t") == "?":
                return Command(name, "test", [], "", body)
            offset = len(body) - len(after)
            return Command(name, "set", split_fields(after, offset), after, body)
        raise AtSyntaxError("junk after the command name")
    m = _BASIC.match(text)
    if not m:
        raise AtSyntaxError("unknown basic command")
    return Command(m.group(1).upper(), "action", [], m.group(2), body)


def has_high_bytes_outside_quotes(raw):
    """True if a byte >= 0x80 appears outside double quotes (D3)."""
    inside = False
    for b in raw:
        if b == 0x22:
            inside = not inside
        elif b >= 0x80 and not inside:
            return True
    return False


def _password_spans(cmd):
    """Spans of the password fields of a command (for masking the log)."""
    f = cmd.fields
    if cmd.form != "set" or not f or not f[0].is_number:
        return []
    first = int(f[0].text)
    spans = []
    if cmd.name == "+WIPBR":
        if first == 2 and len(f) >= 4 and f[2].text == "1":
            spans.append(f[3])
        elif first == 4 and len(f) >= 5:
            spans.extend(f[3:5])
    elif cmd.name == "+WIPCREATE" and 4 <= first <= 7 and len(f) >= 3:
        rest = f[2:]  # server/proxy onwards
        pos = 1
        if len(rest) > 1 and (rest[1].empty or rest[1].is_number):
            pos = 2
        creds = rest[pos:pos + (3 if first == 4 else 2)]
        spans.extend(creds[1:])
    elif cmd.name == "+WIPFILE" and first == 5 and len(f) >= 6:
        spans.append(f[5])
    return [s for s in spans if not s.empty]


def mask_passwords(line_text, at_pos, cmd):
    """The line with password fields replaced by "****" for the transcript."""
    spans = _password_spans(cmd) if cmd is not None else []
    if not spans:
        return line_text
    base = at_pos + 2
    out = line_text
    for field in sorted(spans, key=lambda s: s.start, reverse=True):
        out = out[:base + field.start] + '"****"' + out[base + field.end:]
    return out
