"""The code panel's HTML: the source text unchanged, coloured by kind, with wrap points only between names."""

import html
import re

from twolayer.teach.code_html import code_html, highlighted_lines


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_a_long_call_chain_may_wrap_after_each_dot_and_nowhere_else():
    line = "seeds = np.random.SeedSequence(seed).spawn(3)  # a comment. with dots"
    [out] = highlighted_lines(line)
    assert text(out) == line
    assert out.startswith("seeds = np.<wbr>random.<wbr>SeedSequence(seed).<wbr>spawn(")
    assert out.count("<wbr>") == 3
    comment = re.search(r'<span style="color: #636363">(.*?)</span>', out).group(1)
    assert "<wbr>" not in comment  # comments, strings and numbers keep their dots as written


def test_numbers_and_strings_keep_their_dots():
    [out] = highlighted_lines('x = 1.5e-06 + len("a.b")')
    assert "<wbr>" not in out
    assert ">1.5e-06</span>" in out and ">&quot;a.b&quot;</span>" in out
    assert text(out) == 'x = 1.5e-06 + len("a.b")'


def test_the_panel_reads_as_its_source():
    source = "import numpy as np\nh = x.dot(w1)\n"
    body = code_html(source, "example")
    lines = re.findall(r'class="tl-src">(.*?)</span></div>', body)
    assert [text(line) for line in lines] == ["import numpy as np", "h = x.dot(w1)"]
