"""Validation scripts, one per literature or closed-form result (``docs/developer.md``).

Installed as the package ``mixsig.validation`` (``setup.cfg`` maps it to this folder), so that
``mixsig validate`` finds the scripts after a plain ``pip install .``; each script also runs on
its own (``python validation/<script>.py``).
"""
