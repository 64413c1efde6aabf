# Sourced by scripts/mbedtls4.sh and scripts/mbedtls4-peers.sh (not run on
# its own): finds the Mbed TLS 4.0 release tarball and checks it.
#
# mbedtls4_tarball sets TARBALL to the tarball's absolute path: MBEDTLS4_SRC,
# else ../shared/deps/mbedtls-4.0.0.tar.xz beside this checkout. A relative
# path is tried from the current directory, then from the repository's top
# (REPO, set by the caller), then from the top of the main worktree when
# this checkout is a linked `git worktree` (whose own parent directory is
# elsewhere). When the tarball is missing, or does not match the sha256 the
# SHA256SUMS next to it gives, it calls the caller's not_run with why.
mbedtls4_find() {
    rel=${MBEDTLS4_SRC:-../shared/deps/mbedtls-4.0.0.tar.xz}
    case $rel in
    /*)
        echo "$rel"
        return
        ;;
    esac
    if [ -n "${MBEDTLS4_SRC:-}" ] && [ -f "$rel" ]; then
        echo "$(pwd)/$rel"
        return
    fi
    if [ -f "$REPO/$rel" ]; then
        echo "$REPO/$rel"
        return
    fi
    common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
    if [ -n "$common" ] && [ -f "$common/../$rel" ]; then
        echo "$(cd "$common/.." && pwd)/$rel"
        return
    fi
    echo "$REPO/$rel"
}

mbedtls4_tarball() {
    TARBALL=$(mbedtls4_find)
    [ -f "$TARBALL" ] || not_run "no $TARBALL (set MBEDTLS4_SRC to the mbedtls-4.0.0.tar.xz release tarball)"
    TARBALL=$(cd "$(dirname "$TARBALL")" && pwd)/$(basename "$TARBALL")
    sums=$(dirname "$TARBALL")/SHA256SUMS
    if [ -f "$sums" ] && grep -q " $(basename "$TARBALL")\$" "$sums"; then
        want=$(grep " $(basename "$TARBALL")\$" "$sums" | cut -d' ' -f1)
        have=$(sha256sum "$TARBALL" | cut -d' ' -f1)
        [ "$want" = "$have" ] || not_run "$TARBALL does not match its SHA256SUMS ($have)"
    fi
    return 0
}

# What building from the tarball needs besides it; not_run when missing.
mbedtls4_build_tools() {
    command -v cmake >/dev/null 2>&1 || not_run "cmake not found"
    python3 -c 'import jinja2, jsonschema' 2>/dev/null ||
        not_run "python3 modules jinja2 and jsonschema missing (Debian: python3-jinja2 python3-jsonschema; make deps)"
}
