#!/bin/sh
# iotls(1) from the program's own help texts, so the man page and
# `iotls COMMAND --help` never disagree: the help is the one source.
#   scripts/man.sh path/to/iotls > iotls.1
set -eu
IOTLS=${1:?usage: man.sh IOTLS_BINARY}
VERSION=$("$IOTLS" version | awk '{print $2}')

# roff: backslashes doubled, '-' as \-, a leading '.' or "'" guarded.
esc() { sed -e 's/\\/\\\\/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# Help lines "  --opt ARG   text" become tagged paragraphs; indented
# continuation lines join the paragraph above; other lines stay text.
options() {
    awk '
    /^  [^ ]/ {
        line = substr($0, 3)
        if (match(line, /   +/)) {
            print ".TP"; print substr(line, 1, RSTART - 1)
            print substr(line, RSTART + RLENGTH)
        } else { print ".TP"; print line }
        next
    }
    /^                 +[^ ]/ { sub(/^ +/, ""); print; next }
    /^$/ { print ".PP"; next }
    { sub(/^ +/, ""); print }
    '
}

# A command's help (some commands print it on stderr).
help() { "$IOTLS" "$@" --help 2>&1 || true; }

section() { # NAME COMMAND
    printf '.SH %s\n.nf\n' "$1"
    help "$2" | sed '/^  /,$d' | sed 's/^usage: //' | esc
    printf '.fi\n'
    help "$2" | sed -n '/^  /,$p' | sed '/^exit codes:/,$d' | esc | options
}

cat <<HEAD
.TH IOTLS 1 "" "iotls $VERSION" "User Commands"
.SH NAME
iotls \\- TLS 1.3 client, server, demo and benchmark
.SH SYNOPSIS
.B iotls
.I COMMAND
[\\fIOPTIONS\\fR]
.SH DESCRIPTION
HEAD
"$IOTLS" --help | sed '1,2d' | sed '/^exit codes:/,$d' | esc | options
section "CLIENT" client
section "SERVER" server
section "DEMO" demo
# bench's help is laid out by hand: kept as it is.
printf '.SH BENCH\n.nf\n'
help bench | esc
printf '.fi\n'

printf '.SH "EXIT STATUS"\n'
"$IOTLS" --help | sed -n '/^exit codes:/,$p' | sed '1d' | esc |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); print ".TP"; print n; print }'
cat <<'TAIL'
.SH ENVIRONMENT
.TP
SSLKEYLOGFILE
append the TLS secrets in the NSS key log format (as \-\-keylog)
.SH "SEE ALSO"
.BR openssl\-s_client (1),
.BR curl (1)
TAIL
