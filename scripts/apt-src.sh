#!/bin/sh
# Fetches a Debian source package through the machine's own apt
# configuration: the archives (or mirrors, proxies, local caches) its apt
# sources already name, with the suite changed to the one that carries the
# version wanted. The repository names no package archive of its own, and the
# machine's apt state is not touched (private lists in DIR).
#
# Usage:
#   scripts/apt-src.sh sources SUITE OUTDIR
#       Writes OUTDIR/derived.list (one-line entries) and/or
#       OUTDIR/derived.sources (deb822) with one deb-src entry for SUITE,
#       component main, per distribution archive the machine's apt sources
#       name, and prints them. Exit 3 when there is none.
#   scripts/apt-src.sh fetch DIR SUITE PACKAGE
#       The above into DIR/apt/sources, `apt-get update` with lists of its
#       own (DIR/apt/lists), then `apt-get source --download-only
#       PACKAGE/SUITE` into DIR/apt/fetch; prints the .dsc's path. Exit 3,
#       with a line saying why on stderr, when that cannot be done.
#
# The machine's sources are those apt itself reads (apt-config:
# Dir::Etc::sourcelist and Dir::Etc::sourceparts, i.e. /etc/apt/sources.list
# and /etc/apt/sources.list.d/*.list and *.sources by default; APT_CONFIG
# points apt-config elsewhere). An entry counts as a distribution archive
# when its components include main and one of its suites is the machine's
# release (VERSION_CODENAME in /etc/os-release), a Debian suite name
# (oldstable, stable, testing, unstable, sid) or SUITE itself: the security
# archive (bookworm-security), -updates/-backports-only entries and
# third-party repositories (their own suite names) are left out. Everything
# else of the entry is kept as it is: its URIs and its options, Signed-By
# (a keyring path or an inline key) in particular, so the derived entry is
# verified with the keys the machine trusts for that archive.
set -eu

not_run() {
    echo "apt-src: $*" >&2
    exit 3
}

# release_names SUITE: the suite names that mark a distribution archive entry.
release_names() {
    codename=""
    if [ -r "${IOTLS_OS_RELEASE:-/etc/os-release}" ]; then
        codename=$(sed -n 's/^VERSION_CODENAME=//p' "${IOTLS_OS_RELEASE:-/etc/os-release}" | tr -d '"')
    fi
    echo "$codename oldstable stable testing unstable sid $1"
}

# derive_list FILE NAMES SUITE: one-line entries of FILE -> deb-src lines.
derive_list() {
    awk -v names=" $2 " -v suite="$3" '
        /^[ \t]*(#|$)/ { next }
        {
            line = $0
            sub(/[ \t]*#.*/, "", line)
            type = line; sub(/[ \t].*/, "", type)
            if (type != "deb" && type != "deb-src") next
            rest = substr(line, length(type) + 1)
            sub(/^[ \t]+/, "", rest)
            opts = ""
            if (substr(rest, 1, 1) == "[") {
                end = index(rest, "]")
                if (end == 0) next
                opts = substr(rest, 1, end)
                rest = substr(rest, end + 1)
                sub(/^[ \t]+/, "", rest)
            }
            n = split(rest, w, /[ \t]+/)
            if (n < 3) next
            if (!index(names, " " w[2] " ")) next
            main = 0
            for (i = 3; i <= n; i++) if (w[i] == "main") main = 1
            if (!main || seen[w[1]]++) next
            print "deb-src " (opts == "" ? "" : opts " ") w[1] " " suite " main"
        }' "$1"
}

# derive_sources FILE NAMES SUITE: deb822 stanzas of FILE -> deb-src stanzas.
derive_sources() {
    awk -v names=" $2 " -v suite="$3" '
        function flush(   i, j, keep, ok, n, w, lname) {
            if (nf == 0) return
            ok = tolower(enabled) != "no" && main && uris != ""
            keep = 0
            n = split(types, w, /[ \t]+/)
            for (i = 1; i <= n; i++) if (w[i] == "deb" || w[i] == "deb-src") keep = 1
            if (ok && keep) {
                keep = 0
                n = split(suites, w, /[ \t]+/)
                for (i = 1; i <= n; i++) if (w[i] != "" && index(names, " " w[i] " ")) keep = 1
            }
            if (ok && keep && !seen[uris]++) {
                print "Types: deb-src"
                print "URIs: " uris
                print "Suites: " suite
                print "Components: main"
                for (i = 1; i <= nf; i++) {
                    lname = tolower(fname[i])
                    if (lname == "types" || lname == "uris" || lname == "suites" || lname == "components" || lname == "enabled") continue
                    printf "%s", ftext[i]
                }
                print ""
            }
            nf = 0; types = ""; suites = ""; uris = ""; enabled = ""; main = 0
        }
        /^#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { if (nf) ftext[nf] = ftext[nf] $0 "\n"; next }
        {
            name = $0; sub(/:.*/, "", name)
            value = $0; sub(/^[^:]*:[ \t]*/, "", value)
            nf++; fname[nf] = name; ftext[nf] = $0 "\n"
            l = tolower(name)
            if (l == "types") types = value
            else if (l == "suites") suites = value
            else if (l == "uris") uris = value
            else if (l == "enabled") enabled = value
            else if (l == "components") { main = (" " value " ") ~ /[ \t]main[ \t]/ }
        }
        END { flush() }' "$1"
}

# sources SUITE OUTDIR: see the usage above.
sources() {
    suite=$1 out=$2
    command -v apt-config >/dev/null 2>&1 || not_run "apt-config not found (not a Debian-like system)"
    list="" parts=""
    eval "$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d)"
    names=$(release_names "$suite")
    mkdir -p "$out"
    : >"$out/derived.list"
    : >"$out/derived.sources"
    for f in "$list" "$parts"*.list; do
        [ -f "$f" ] && derive_list "$f" "$names" "$suite" >>"$out/derived.list"
    done
    for f in "$parts"*.sources; do
        [ -f "$f" ] && derive_sources "$f" "$names" "$suite" >>"$out/derived.sources"
    done
    for f in "$out/derived.list" "$out/derived.sources"; do
        [ -s "$f" ] || rm -f "$f"
    done
    if [ ! -f "$out/derived.list" ] && [ ! -f "$out/derived.sources" ]; then
        not_run "the apt sources in ${list:-?} and ${parts:-?} name no distribution archive (suites: $names; component main)"
    fi
    cat "$out"/derived.* 2>/dev/null
}

fetch() {
    dir=$1 suite=$2 pkg=$3
    for c in apt-get apt-config; do
        command -v $c >/dev/null 2>&1 || not_run "$c not found"
    done
    apt=$dir/apt
    rm -rf "$apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/fetch"
    sources "$suite" "$apt/sources" >"$apt/sources.txt"
    echo "apt-src: $pkg/$suite through the machine's apt sources:" >&2
    sed 's/^/    /' "$apt/sources.txt" >&2
    set -- -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$apt/sources" \
        -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root
    apt-get -qq "$@" update >"$apt/update.log" 2>&1 ||
        not_run "apt-get update with those entries failed: $(grep -E '^(E|Err):' "$apt/update.log" | head -n 2 | tr '\n' ' ')"
    (cd "$apt/fetch" && apt-get -qq "$@" source --download-only "$pkg/$suite") >"$apt/source.log" 2>&1 ||
        not_run "apt-get source $pkg/$suite failed: $(grep -E '^(E|Err):' "$apt/source.log" | head -n 2 | tr '\n' ' ')"
    dsc=$(ls "$apt/fetch/${pkg}_"*.dsc 2>/dev/null | head -n 1)
    [ -n "$dsc" ] || not_run "apt-get source $pkg/$suite left no .dsc"
    echo "$dsc"
}

case ${1:-} in
sources) [ $# = 3 ] || { echo "usage: scripts/apt-src.sh sources SUITE OUTDIR" >&2; exit 2; }; sources "$2" "$3" ;;
fetch) [ $# = 4 ] || { echo "usage: scripts/apt-src.sh fetch DIR SUITE PACKAGE" >&2; exit 2; }; fetch "$2" "$3" "$4" ;;
*) echo "usage: scripts/apt-src.sh sources SUITE OUTDIR | fetch DIR SUITE PACKAGE" >&2; exit 2 ;;
esac
