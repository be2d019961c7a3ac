# Sourced by run-app and test. ensure_venv FILE: make .venv hold what FILE pins and the twolayer
# package itself (editable, so `twolayer` imports from any directory and .venv/bin/twolayer runs the
# CLI), calling pip only when a requirements file or pyproject.toml changed since the last install,
# so a second run starts at once.
ensure_venv() {
  local requirements=$1 python=${PYTHON:-python3}
  if [[ ! -x .venv/bin/python ]]; then
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "error: needs Python 3.11 or newer as '$python' (or set PYTHON=/path/to/python3.11)" >&2
      exit 1
    fi
    if ! "$python" -m venv .venv; then
      rm -rf .venv  # a half-made venv would pass the check above next time
      echo "error: could not create .venv; on Debian: sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
  # The editable install records this checkout's path: a moved checkout installs again.
  local stamp=.venv/.installed-${requirements%.txt} hash
  hash=$( (cat requirements*.txt pyproject.toml && pwd) | sha256sum | cut -d' ' -f1)
  if [[ $(cat "$stamp" 2>/dev/null) != "$hash" ]]; then
    echo "Installing $requirements into .venv (the first time takes some minutes) ..."
    .venv/bin/python -m pip install --progress-bar on -r "$requirements"
    install_package
    echo "$hash" >"$stamp"
  fi
}

# The package from pyproject.toml, editable. Its dependencies came with the requirements, so
# --no-deps; the build uses the venv's own setuptools (torch requires a recent one) and needs no
# index. Only a venv without a setuptools that builds editable wheels by itself (64 or newer, and
# 70.1 or newer unless the wheel package is there) lets pip fetch one for the build.
install_package() {
  local isolation=--no-build-isolation
  if ! .venv/bin/python -c '
import importlib.util, sys
import setuptools
version = tuple(int(part) for part in setuptools.__version__.split(".")[:2])
wheels = importlib.util.find_spec("setuptools.command.bdist_wheel") or importlib.util.find_spec("wheel")
sys.exit(not (version >= (64, 0) and wheels))' 2>/dev/null; then
    isolation=
  fi
  echo "Installing the twolayer package (editable) into .venv ..."
  .venv/bin/python -m pip install --no-deps $isolation -e .
}
