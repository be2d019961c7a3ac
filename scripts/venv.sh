# Sourced by run-app and test. ensure_venv FILE: make .venv hold what FILE pins,
# calling pip only when a requirements file changed since the last install, so
# a second run starts at once.
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
  local stamp=.venv/.installed-${requirements%.txt} hash
  hash=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [[ $(cat "$stamp" 2>/dev/null) != "$hash" ]]; then
    echo "Installing $requirements into .venv ..."
    .venv/bin/python -m pip install -q -r "$requirements"
    echo "$hash" >"$stamp"
  fi
}
