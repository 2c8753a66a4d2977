"""The interactive smoothness explorer and the guided lesson (``gradlab explore``).

:mod:`gradlab.explore.model` computes what each view shows (plain functions, tested);
:mod:`gradlab.explore.lessons` holds the lesson's sections and their answer checks;
``explorer.py`` and ``lesson.py`` are marimo apps, thin views over both (marimo is the optional
``explore`` extra, imported only by them and by ``gradlab explore``); :mod:`gradlab.explore.export`
writes the lesson as one self-contained HTML page.  Nothing else in gradlab imports this package.
"""

__all__: list[str] = []
