#!/bin/sh
# `make install` delivers a usable library: install the build into a
# scratch prefix, then build and run a program against it with nothing but
# what iotls.pc says, once against the shared and once the static library.
set -eu
build_dir=$1
extra_cflags=${2:-} # the sanitizer build's flags, so its library links
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
pc="$work/prefix/lib/pkgconfig"
[ -f "$pc/iotls.pc" ] || pc=$(dirname "$(find "$work/prefix" -name iotls.pc | head -n 1)")
for h in iotls.h engine.h error.h session.h; do
    [ -f "$work/prefix/include/iotls/$h" ] || { echo "install: missing include/iotls/$h"; exit 1; }
done
[ -f "$work/prefix/share/man/man1/iotls.1" ] || { echo "install: missing share/man/man1/iotls.1"; exit 1; }
cat >"$work/app.c" <<'C'
#include <iotls/iotls.h>
#include <stdio.h>
int main(void)
{
    iotls_config *cfg = iotls_config_new();
    if (!cfg || iotls_config_set_groups(cfg, "x25519") != IOTLS_OK)
        return 1;
    puts(iotls_suite_name(IOTLS_TLS_AES_128_GCM_SHA256));
    iotls_config_free(cfg);
    return 0;
}
C
export PKG_CONFIG_PATH="$pc"
libdir=$(pkg-config --variable=libdir iotls)
cc $extra_cflags "$work/app.c" $(pkg-config --cflags --libs iotls) -Wl,-rpath,"$libdir" -o "$work/app_shared"
cc $extra_cflags "$work/app.c" $(pkg-config --cflags iotls) "$libdir/libiotls.a" \
    $(pkg-config --libs --static iotls | sed 's/-liotls//') -o "$work/app_static"
for app in app_shared app_static; do
    out=$("$work/$app")
    [ "$out" = "TLS_AES_128_GCM_SHA256" ] || { echo "install: $app printed '$out'"; exit 1; }
done
echo "install: headers, libiotls.so, libiotls.a and iotls.pc work from $work/prefix"

# The build tree itself: PKG_CONFIG_PATH=BUILD finds iotls-uninstalled.pc.
export PKG_CONFIG_PATH="$build_dir"
[ "$(pkg-config --variable=libdir iotls)" = "$build_dir" ] ||
    { echo "install: PKG_CONFIG_PATH=$build_dir does not find the build tree's libraries"; exit 1; }
cc $extra_cflags "$work/app.c" $(pkg-config --cflags --libs iotls) -Wl,-rpath,"$build_dir" -o "$work/app_tree"
out=$("$work/app_tree")
[ "$out" = "TLS_AES_128_GCM_SHA256" ] || { echo "install: app_tree printed '$out'"; exit 1; }
echo "install: PKG_CONFIG_PATH=$build_dir builds against the build tree"

# make install PREFIX=... DESTDIR=... on a tree configured with another
# prefix: both honoured (make all finds nothing to rebuild).
src_dir=$(cd "$(dirname "$0")/.." && pwd)
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt")
[ "$configured" != /opt/iotls-test ] || { echo "install: the tree is configured for the test prefix"; exit 1; }
make -s -C "$src_dir" install BUILD="$build_dir" PREFIX=/opt/iotls-test DESTDIR="$work/dest" >/dev/null
for f in lib/pkgconfig/iotls.pc include/iotls/iotls.h share/man/man1/iotls.1 bin/iotls; do
    [ -f "$work/dest/opt/iotls-test/$f" ] ||
        { echo "install: make install PREFIX DESTDIR: no $f under $work/dest/opt/iotls-test"; exit 1; }
done
echo "install: make install PREFIX=/opt/iotls-test DESTDIR=... honoured (tree configured for $configured)"
