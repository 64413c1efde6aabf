#!/bin/sh
# Cross-compiles the firmware for one board: the iotls engine (src/,
# src/msg/), the PSA provider (src/crypto/psa/, src/crypto/common/, src/crypto/mbedtls_common/), the
# configuration (src/config/config.c, src/config/replay.c), the port
# (port/baremetal/) and picolibc with its semihosting layer, linked with
# the board's Mbed TLS 4 (build-mbedtls4.sh) into OUT/BOARD/iotls-BOARD.elf.
#
# Usage: port/baremetal/build-firmware.sh OUT BOARD [mbedtls IN OUT | p256m]   (BOARD: cm4 | rv32)
# OUT/mbedtls4/BOARD must hold the library. Exit status 1 on a compile error
# or warning (-Werror).
# With "mbedtls": the comparison firmware instead (compare/main_mbedtls.c:
# Mbed TLS 4's own TLS 1.3 client with the same port and record buffers of
# IN and OUT bytes, default 16384 and 4096), OUT/BOARD/mbedtls-IN-OUT-BOARD.elf,
# linked with OUT/mbedtls4/BOARD-tls-IN-OUT (build-mbedtls4.sh OUT/mbedtls4
# BOARD tls IN OUT).
# With "p256m": the same iotls firmware compiled and linked against Mbed TLS 4
# with p256-m and P-256 only (build-mbedtls4.sh OUT/mbedtls4 BOARD p256m;
# crypto_config_p256m.h), OUT/BOARD/iotls-p256m-BOARD.elf.
# With HEAP_MAP=1 in the environment: a measurement build, never the
# measured image (give it an OUT of its own, whose mbedtls4/ may be a link
# to the device build's): the allocator is wrapped (heap_map.c) and the
# boot ends by printing the blocks the arena held at its high-water mark
# (tools/device/heap_map.py names their callers).
set -eu
OUT=${1:?usage: build-firmware.sh OUT BOARD}
BOARD=${2:?usage: build-firmware.sh OUT BOARD}
VARIANT=${3:-}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/port/baremetal
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/boards.sh"
board_flags "$BOARD"
LIB=$OUT/mbedtls4/$BOARD
OBJ=$OUT/$BOARD/obj
ELF=$OUT/$BOARD/iotls-$BOARD.elf
X509_CONFIG=$HERE/mbedtls/mbedtls_config.h
CRYPTO_CONFIG=$HERE/mbedtls/crypto_config.h
if [ "$VARIANT" = p256m ]; then
    LIB=$OUT/mbedtls4/$BOARD-p256m
    OBJ=$OUT/$BOARD/obj-p256m
    ELF=$OUT/$BOARD/iotls-p256m-$BOARD.elf
    CRYPTO_CONFIG=$HERE/mbedtls/crypto_config_p256m.h
fi
if [ "$VARIANT" = mbedtls ]; then
    IN=${4:-16384}
    OUTLEN=${5:-4096}
    LIB=$OUT/mbedtls4/$BOARD-tls-$IN-$OUTLEN
    OBJ=$OUT/$BOARD/obj-mbedtls-$IN-$OUTLEN
    ELF=$OUT/$BOARD/mbedtls-$IN-$OUTLEN-$BOARD.elf
    X509_CONFIG=$OUT/mbedtls4/config-tls-$IN-$OUTLEN.h
fi
mkdir -p "$OBJ"

# Memory map (linker script: picolibc.ld). The stack is measured by
# painting (platform.c); the heap is the fixed arena of platform.h, in .bss.
case $BOARD in
cm4) # AN386: 4 MiB SSRAM1 at 0 (code), SSRAM2/3 at 0x20000000 (data).
    MEM="-Wl,--defsym=__flash=0x00000000 -Wl,--defsym=__flash_size=0x00400000 \
-Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x00080000" ;;
rv32) # virt: QEMU loads the image into DRAM at 0x80000000 and starts there.
    MEM="-Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x00200000 \
-Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x00080000" ;;
esac
STACK=0x8000

# Nothing to do when the image is newer than every source it comes from.
if [ -f "$ELF" ] && [ -f "$LIB/lib/libtfpsacrypto.a" ] && [ ! "$LIB/lib/libtfpsacrypto.a" -nt "$ELF" ] &&
    [ -z "$(find "$REPO/src" "$REPO/include" "$HERE" -newer "$ELF" -type f | head -n 1)" ]; then
    $CROSS-size "$ELF"
    exit 0
fi

CC=$CROSS-gcc
# The device's profile: a TLS client (the server's files are left out
# below, as the CMake build does with IOTLS_SERVER=OFF) with the features
# its scenario uses (main.c: resumption, 0-RTT, client certificate,
# KeyUpdate, and record_size_limit for the small-records runs) and not the
# others (include/iotls/features.h). Every iotls file of the image,
# port included, is built with the same switches.
PROFILE="-DIOTLS_NO_SERVER -DIOTLS_FEATURE_EXT_PSK=0 -DIOTLS_FEATURE_ALPN=0 \
-DIOTLS_FEATURE_KEYLOG=0 -DIOTLS_FEATURE_TRACE=0"
COMMON="$ARCH_FLAGS --specs=picolibc.specs -std=c11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections \
-I$REPO/include -I$REPO/src -I$REPO/src/config -I$REPO/src/crypto/psa -I$OUT/mbedtls4/src/include -I$OUT/mbedtls4/src/tf-psa-crypto/include \
-I$OUT/mbedtls4/src/tf-psa-crypto/drivers/builtin/include \
-DTF_PSA_CRYPTO_CONFIG_FILE=\"$CRYPTO_CONFIG\" -DMBEDTLS_CONFIG_FILE=\"$X509_CONFIG\" \
-DIOTLS_NO_THREADS $PROFILE"
# The engine's own stricter set (CMakeLists.txt: IOTLS_CORE_WARNINGS).
CORE="-Wshadow -Wconversion"
PORT_EXTRA=""
LINK_EXTRA=""
if [ "${HEAP_MAP:-0}" = 1 ]; then
    COMMON="$COMMON -DPORT_HEAP_MAP"
    PORT_EXTRA="port/baremetal/heap_map.c"
    LINK_EXTRA="-Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=aligned_alloc -Wl,--wrap=free"
fi

compile() { # src extra-flags
    src=$1
    o=$OBJ/$(echo "$src" | sed 's|/|_|g; s|\.c$|.o|')
    # shellcheck disable=SC2086
    $CC $COMMON $2 -c "$REPO/$src" -o "$o" || return 1
    echo "$o"
}

objs=""
cd "$REPO"
if [ "$VARIANT" = mbedtls ]; then
    for f in port/baremetal/compare/main_mbedtls.c port/baremetal/startup.c \
        port/baremetal/platform.c port/baremetal/entropy.c \
        port/baremetal/board_$BOARD.c port/baremetal/atomic.c $PORT_EXTRA; do
        objs="$objs $(compile "$f" "$CORE -I$HERE")" || exit 1
    done
    # shellcheck disable=SC2086
    $CC $ARCH_FLAGS --specs=picolibc.specs --oslib=semihost --crt0=semihost $MEM $LINK_EXTRA \
        -Wl,--defsym=__stack_size=$STACK -Wl,--gc-sections -Wl,-Map,"${ELF%.elf}.map" \
        -o "$ELF" $objs "$LIB/lib/libmbedtls.a" "$LIB/lib/libmbedx509.a" "$LIB/lib/libtfpsacrypto.a"
    $CROSS-size "$ELF"
    exit 0
fi
for f in src/*.c src/msg/*.c; do
    case $f in src/server.c | src/server_negotiate.c | src/ticket.c | src/cookie.c) continue ;; esac
    objs="$objs $(compile "$f" "$CORE")" || exit 1
done
for f in src/crypto/psa/*.c src/crypto/common/*.c src/crypto/mbedtls_common/*.c src/config/config.c; do
    # The provider's allocation accounting (iotls_crypto_mem_stats) is left
    # out: the port counts Mbed TLS' heap itself, for both firmwares alike
    # (platform.c), and a second counting allocator would be installed
    # from the accounting's constructor.
    case $f in src/crypto/common/mem.c | src/crypto/mbedtls_common/mem.c) continue ;; esac
    # The same definition as the CMake build gives them (clock_gettime).
    # The board's Mbed TLS has no MBEDTLS_FS_IO: the provider's file
    # functions say IOTLS_ERR_UNSUPPORTED, files reach memory first.
    objs="$objs $(compile "$f" "-D_POSIX_C_SOURCE=200809L")" || exit 1
done
for f in port/baremetal/main.c port/baremetal/startup.c port/baremetal/platform.c port/baremetal/entropy.c \
    port/baremetal/board_$BOARD.c port/baremetal/atomic.c port/baremetal/no_replay.c $PORT_EXTRA; do
    objs="$objs $(compile "$f" "$CORE")" || exit 1
done
# shellcheck disable=SC2086
$CC $ARCH_FLAGS --specs=picolibc.specs --oslib=semihost --crt0=semihost $MEM $LINK_EXTRA \
    -Wl,--defsym=__stack_size=$STACK -Wl,--gc-sections -Wl,-Map,"${ELF%.elf}.map" \
    -o "$ELF" $objs "$LIB/lib/libmbedx509.a" "$LIB/lib/libtfpsacrypto.a"
$CROSS-size "$ELF"
