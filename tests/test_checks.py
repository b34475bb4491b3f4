"""The validation helpers every boundary uses (vrenvs.core.checks): exact messages and bounds."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from vrenvs.core.checks import (
    arg_choice,
    arg_float,
    arg_int,
    arg_output,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_output,
    check_text,
)


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (("n", 3.0, 0), TypeError, "n=3.0 must be an integer >= 0"),
        (("n", True, 0, 9), TypeError, "n=True must be an integer in [0, 9]"),
        (("n", np.bool_(False)), TypeError, "n=np.False_ must be an integer"),
        (("n", "3", None, 9), TypeError, "n='3' must be an integer <= 9"),
        (("n", -1, 0), ValueError, "n=-1 is out of range; allowed: an integer >= 0"),
        (("n", 10, 0, 9), ValueError, "n=10 is out of range; allowed: an integer in [0, 9]"),
        (("n", 10, None, 9), ValueError, "n=10 is out of range; allowed: an integer <= 9"),
    ],
)
def test_check_int_refuses(args, kind, message):
    with pytest.raises(kind) as err:
        check_int(*args)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("args", "value"),
    [(("n", 0, 0, 9), 0), (("n", 9, 0, 9), 9), (("n", np.int8(-3)), -3), (("n", 2**70, 0), 2**70)],
)
def test_check_int_accepts_the_bounds_and_numpy_integers(args, value):
    got = check_int(*args)
    assert got == value and type(got) is int


@pytest.mark.parametrize(
    ("args", "kwargs", "kind", "message"),
    [
        (("x", "1"), {}, TypeError, "x='1' must be a number"),
        (("x", True), {}, TypeError, "x=True must be a number"),
        (("x", None, 0), {}, TypeError, "x=None must be a number"),
        (
            ("x", float("nan"), 0, 1),
            {},
            ValueError,
            "x=nan is not allowed; allowed: a finite number in [0, 1]",
        ),
        (("x", float("inf"), 0), {}, ValueError, "x=inf is not allowed; allowed: a finite number >= 0"),
        (("x", -float("inf")), {}, ValueError, "x=-inf is not allowed; allowed: a finite number"),
        (("x", -0.5, 0, 1), {}, ValueError, "x=-0.5 is out of range; allowed: a finite number in [0, 1]"),
        (("x", 1.5, 0, 1), {}, ValueError, "x=1.5 is out of range; allowed: a finite number in [0, 1]"),
        (("x", 2, None, 1), {}, ValueError, "x=2 is out of range; allowed: a finite number <= 1"),
        (
            ("x", 0.0, 0, 1),
            {"above": True},
            ValueError,
            "x=0.0 is out of range; allowed: a finite number in (0, 1]",
        ),
        (("x", -1, 0), {"above": True}, ValueError, "x=-1 is out of range; allowed: a finite number > 0"),
        (
            ("x", 5, 0, 4),
            {"above": True},
            ValueError,
            "x=5 is out of range; allowed: a finite number in (0, 4]",
        ),
    ],
)
def test_check_float_refuses(args, kwargs, kind, message):
    with pytest.raises(kind) as err:
        check_float(*args, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("args", "kwargs", "value"),
    [
        (("x", 0, 0, 1), {}, 0.0),
        (("x", 1, 0, 1), {}, 1.0),
        (("x", 1e-9, 0, 1), {"above": True}, 1e-9),
        (("x", 1.0, 0, 1), {"above": True}, 1.0),
        (("x", np.float32(0.5), 0, 1), {}, 0.5),
        (("x", np.int64(3)), {}, 3.0),
        (("x", -7.5), {}, -7.5),
    ],
)
def test_check_float_accepts(args, kwargs, value):
    got = check_float(*args, **kwargs)
    assert got == value and type(got) is float


def test_check_bool_choice_and_text():
    assert check_bool("b", np.True_) is True and check_bool("b", False) is False
    with pytest.raises(TypeError, match=r"^b=1 must be True or False$"):
        check_bool("b", 1)
    assert check_choice("c", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"^c='z' is not supported; choose from \['a', 'b'\]$"):
        check_choice("c", "z", ("a", "b"))
    with pytest.raises(ValueError, match=r"^c=\[1\] is not supported; choose from \['a'\]$"):
        check_choice("c", [1], ("a",))  # unhashable values are no choice, not a TypeError
    assert check_text("t", "abc", max_len=3) == "abc"
    with pytest.raises(ValueError, match=r"^t is 4 characters long; at most 3 are allowed$"):
        check_text("t", "abcd", max_len=3)
    with pytest.raises(TypeError, match=r"^t=3 must be a string$"):
        check_text("t", 3)


def test_check_output(tmp_path):
    (tmp_path / "file").write_text("x")
    assert check_output("out", tmp_path / "new" / "a.gif", (".gif",)) == tmp_path / "new" / "a.gif"
    assert not (tmp_path / "new").exists()  # nothing is created
    assert check_output("out", tmp_path / "dir", folder=True) == tmp_path / "dir"
    cases = [
        ((tmp_path, (".gif",)), {}, "is a folder; give a file name"),
        (
            (tmp_path / "a.png", (".gif", ".mp4")),
            {},
            "has an unsupported extension; choose from ['.gif', '.mp4']",
        ),
        ((tmp_path / "file" / "a.gif", ()), {}, "is a file"),
        ((tmp_path / "file", ()), {"folder": True}, "is a file; a folder is needed there"),
        (("", ()), {}, "is empty; give a path"),
    ]
    for (path, suffixes), kwargs, words in cases:
        with pytest.raises(ValueError) as err:
            check_output("out", path, suffixes, **kwargs)
        assert str(err.value).startswith(f"out={str(path)!r} ") and words in str(err.value), str(err.value)
    with pytest.raises(TypeError, match="out=3 must be a path"):
        check_output("out", 3)  # type: ignore[arg-type]


def test_argparse_types_report_the_argparse_way(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="vrenvs")
    parser.add_argument("--num", type=arg_int(1, 8))
    parser.add_argument("--fps", type=arg_float(0, 60, above=True))
    parser.add_argument("--mode", type=arg_choice(["a", "b"]))
    parser.add_argument("--out", type=arg_output((".png",)))
    ok = parser.parse_args(["--num", "8", "--fps", "0.5", "--mode", "b", "--out", str(tmp_path / "g.png")])
    assert (ok.num, ok.fps, ok.mode, ok.out) == (8, 0.5, "b", tmp_path / "g.png")
    for argv, message in [
        (["--num", "9"], "argument --num: 9 is out of range; allowed: an integer in [1, 8]"),
        (["--num", "x"], "argument --num: 'x' is not an integer in [1, 8]"),
        (["--num", "2.0"], "argument --num: '2.0' is not an integer in [1, 8]"),
        (["--fps", "nan"], "argument --fps: nan is not allowed; allowed: a finite number in (0, 60]"),
        (["--fps", "0"], "argument --fps: 0.0 is out of range; allowed: a finite number in (0, 60]"),
        (["--mode", "c"], "argument --mode: 'c' is not supported; choose from ['a', 'b']"),
        (["--out", str(tmp_path)], f"argument --out: {str(tmp_path)!r} is a folder; give a file name"),
    ]:
        with pytest.raises(SystemExit) as stop:
            parser.parse_args(argv)
        assert stop.value.code == 2
        assert f"vrenvs: error: {message}" in capsys.readouterr().err
