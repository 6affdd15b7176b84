# Sourced by the scripts: where the project's own tools live.
# Python packages go into the project's virtual environment, .venv (setup.sh
# makes it); cargo-installed fallbacks into .tools/bin.
VENV="$PWD/.venv"
CARGO_TOOLS="$PWD/.tools"

# find_tool NAME: prints the path of a working NAME, or fails.
find_tool() {
    local c
    for c in "$VENV/bin/$1" "$CARGO_TOOLS/bin/$1" "$(command -v "$1" 2>/dev/null || true)"; do
        if [ -n "$c" ] && [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

# The dependency checkers, when scripts/deps.sh sources this.
CARGO_AUDIT=$(find_tool cargo-audit || true)
CARGO_DENY=$(find_tool cargo-deny || true)
