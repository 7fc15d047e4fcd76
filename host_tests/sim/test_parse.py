"""Unit tests of the simulator's AT line parser (spec §1.5, D2, D3) and log masking."""

import pytest

from tools.wipsim import parse


def fields(text):
    return [(f.text, f.quoted) for f in parse.split_fields(text)]


def test_split_fields():
    assert fields('1, "a,b" ,,  22 ') == [("1", False), ("a,b", True), ("", False),
                                          ("22", False)]
    assert fields("") == [("", False)]
    assert fields('""') == [("", True)]
    assert fields("a b") == [("ab", False)]


@pytest.mark.parametrize("bad", ['"open', '"a"b', 'a"b"', '1,"x" y', '"a""b"'])
def test_bad_quoting(bad):
    with pytest.raises(parse.AtSyntaxError):
        parse.split_fields(bad)


def test_service_values():
    values = [f.service_value() for f in parse.split_fields(',12,"12","x",host')]
    assert values == [None, 12, "12", "x", "host"]


@pytest.mark.parametrize("body,name,form,count", [
    ("", "", "action", 0), ("+WIPCFG=?", "+WIPCFG", "test", 0),
    ("+wipcfg ?", "+WIPCFG", "read", 0), ("+WIPCFG = 2, 0, 1", "+WIPCFG", "set", 3),
    ("E0", "E", "action", 0), ("+CFUN=1", "+CFUN", "set", 1), ("+WIPBR", "+WIPBR", "action", 0),
])
def test_parse_command(body, name, form, count):
    cmd = parse.parse_command(body)
    assert (cmd.name, cmd.form, len(cmd.fields)) == (name, form, count)


@pytest.mark.parametrize("body", ["+", "+1X", "+WIPCFG junk", "EE", "&&"])
def test_parse_command_errors(body):
    with pytest.raises(parse.AtSyntaxError):
        parse.parse_command(body)


def test_high_bytes():
    assert parse.has_high_bytes_outside_quotes(b'+X=\xe9')
    assert not parse.has_high_bytes_outside_quotes(b'+X="\xe9"')


@pytest.mark.parametrize("line,secret", [
    ('AT+WIPBR=2,6,1,"pw1"', "pw1"), ('AT+WIPBR=4,5,1,"login1","pw2"', "pw2"),
    ('AT+WIPCREATE=4,1,"h",,"u","pw3","acct"', "pw3"),
    ('AT+WIPCREATE=4,1,"h","u","pw4"', "pw4"), ('AT+WIPCREATE=6,1,"h","587","u","pw5"', "pw5"),
    ('AT+WIPCREATE=5,1,"proxy",81,"u","pw6","H","v"', "pw6"),
    ('AT+WIPFILE=5,1,1,"http://x/","u","pw7"', "pw7"),
])
def test_mask_passwords(line, secret):
    pos = parse.find_at(line)
    masked = parse.mask_passwords(line, pos, parse.parse_command(line[pos + 2:]))
    assert secret not in masked and '"****"' in masked
    assert masked.startswith(line[:line.index(",")])


def test_mask_leaves_other_lines_alone():
    line = 'AT+WIPBR=2,6,11,"apn"'
    assert parse.mask_passwords(line, 0, parse.parse_command(line[2:])) == line
