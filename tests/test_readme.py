import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert "pip install -e . && gradlab figures" in first
    assert "pip install -e '.[test]' && pytest" in first


def test_readme_python_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # our own README, not user input
    out = capsys.readouterr().out
    assert "0.5 C0" in out and "0.0028957074580187535" in out and "[6.33, 4.74]" in out
    assert "[95.0, 101.0, 96.0, 96.0]" in out  # the paper's reading of "100x", by window maxima
