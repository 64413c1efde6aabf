# Thin wrapper over CMake. `make demo`, `make test`, `make bench` and
# `make fuzz` install the Debian packages they need first (scripts/deps.sh
# GROUP...), so each works on a fresh clone; plain `make` and `make demo`
# need only the compiler, CMake and the crypto provider's library.

# CRYPTO=openssl selects the OpenSSL libcrypto provider instead of mbedTLS,
# CRYPTO=psa the PSA Crypto provider against Mbed TLS 4 (built first by
# scripts/mbedtls4.sh into MBEDTLS4_DIR, from the release tarball at
# MBEDTLS4_SRC), each in directories of its own so that no two share a
# CMake cache.
CRYPTO ?= mbedtls
MBEDTLS4_DIR ?= build-mbedtls4-lib
ifdef MBEDTLS4_SRC
export MBEDTLS4_SRC
endif
PROVIDER_FLAGS =
PROVIDER_LIB =
ifeq ($(CRYPTO),openssl)
BUILD ?= build-openssl
ASAN_BUILD ?= build-openssl-asan
endif
ifeq ($(CRYPTO),psa)
BUILD ?= build-psa
ASAN_BUILD ?= build-psa-asan
MINIMAL_BUILD ?= build-psa-minimal
PROVIDER_FLAGS = -DPSA_INCLUDE_DIR=$(abspath $(MBEDTLS4_DIR))/include \
	-DPSA_CRYPTO_LIB=$(abspath $(MBEDTLS4_DIR))/lib/libtfpsacrypto.a \
	-DPSA_X509_LIB=$(abspath $(MBEDTLS4_DIR))/lib/libmbedx509.a
PROVIDER_LIB = mbedtls4-lib
endif
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
# The lab's parts, off in a plain build (CMakeLists.txt): the test suite
# (tests/) and `iotls bench` (bench/, whose bench.* cells the suite runs);
# `iotls server --replay-redis` (libhiredis), which the fleet cells use.
TEST_FLAGS = -DIOTLS_TESTS=ON -DIOTLS_BENCH=ON -DIOTLS_REDIS=ON
# $(call lab_on,DIR,FLAGS): turns them on in DIR's cache, also when DIR was
# configured without them (by plain `make`): ctest would otherwise find no
# test there and pass.
lab_on = cmake -S . -B $(1) $(2) >/dev/null
# The package groups of scripts/deps.sh each target installs.
DEPS = demo

.PHONY: all deps configure test test-legs test-other-provider test-minimal test-mbedtls3 test-mbedtls3-suite \
	test-psa test-psa-run test-psa-p256m test-psa-p256m-run test-psa-mbedtls3 test-psa-mbedtls3-suite mbedtls4-lib test-asan demo install format clean bench fuzz size \
	device device-compare test-device test-device-run

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@CRYPTO=$(CRYPTO) sh scripts/deps.sh $(DEPS)

configure: $(PROVIDER_LIB)
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DIOTLS_CRYPTO=$(CRYPTO) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(PROVIDER_FLAGS) $(CMAKE_FLAGS)

# The whole suite (unit, RFC 8448, provider, interop) in the normal build,
# again with the OpenSSL libcrypto provider, the minimal profile's share of
# it, the whole suite against mbedTLS 3.6, again under AddressSanitizer +
# UndefinedBehaviorSanitizer, the PSA provider against Mbed TLS 4, its
# P-256 share against Mbed TLS 4 with p256-m (make test-psa-p256m) and the
# whole suite against mbedTLS 3.6, and last the firmware on the two emulated boards
# (make test-device). The mbedTLS 3.6, Mbed TLS 4 and device legs say loudly
# when they were not run (no 3.6 source, no Mbed TLS 4 release tarball, no
# cross toolchain or QEMU), and the closing notes repeat it.
#
# Everything the run starts carries IOTLS_TEST_RUN (an id new each run) in
# its environment; at the end scripts/sweep.sh finds any process still
# carrying it (an orphan), ends it and fails the run, whether the legs passed
# or not. Only this run's processes are looked at: other people's tests on
# the same machine are left alone. The run ends with its notes: what was not
# run and why, how leaks were checked.
TEST_NOTES = $(abspath $(BUILD))/make-test-notes.txt
test: DEPS = test
test: deps
	@mkdir -p $(BUILD) && : >$(TEST_NOTES)
	+@IOTLS_TEST_RUN=iotls-test-$$$$-$$(date +%s); export IOTLS_TEST_RUN; \
	rc=0; $(MAKE) test-legs IOTLS_TEST_NOTES=$(TEST_NOTES) || rc=$$?; \
	echo "== make test: processes left behind"; \
	sh scripts/sweep.sh "$$IOTLS_TEST_RUN" || rc=1; \
	echo "== make test: notes"; \
	if [ -s $(TEST_NOTES) ]; then sed 's/^/    /' $(TEST_NOTES); else echo "    (none)"; fi; \
	if [ $$rc -eq 0 ]; then echo "== make test: PASSED"; else echo "== make test: FAILED"; fi; \
	exit $$rc

test-legs:
	$(MAKE) configure
	$(call lab_on,$(BUILD),$(TEST_FLAGS))
	$(MAKE) all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-other-provider
	$(MAKE) test-minimal
	$(MAKE) test-mbedtls3 MBEDTLS3_NOT_RUN_OK=1
	$(MAKE) test-asan
	$(MAKE) test-psa
	$(MAKE) test-psa-p256m
	$(MAKE) test-psa-mbedtls3 MBEDTLS3_NOT_RUN_OK=1
	$(MAKE) test-device

# The same suite built with the other crypto provider.
OTHER_CRYPTO = $(if $(filter openssl,$(CRYPTO)),mbedtls,openssl)
test-other-provider:
	$(MAKE) CRYPTO=$(OTHER_CRYPTO) BUILD=build-$(OTHER_CRYPTO) configure
	$(call lab_on,build-$(OTHER_CRYPTO),$(TEST_FLAGS))
	$(MAKE) CRYPTO=$(OTHER_CRYPTO) BUILD=build-$(OTHER_CRYPTO) all
	cd build-$(OTHER_CRYPTO) && ctest --output-on-failure -j $(JOBS)

# The minimal device profile: every optional feature switched off
# (include/iotls/features.h; the same switches tools/size-report.sh
# measures). Builds only the unit tests that apply (tests/CMakeLists.txt
# declares which need what), the iotls command and the port helper, then
# runs them and the suites x groups cells of our client against openssl
# s_server (two certificates) and of openssl s_client against our server.
MINIMAL_BUILD ?= build-minimal
MINIMAL_FLAGS = -DIOTLS_RESUMPTION=OFF -DIOTLS_EARLY_DATA=OFF -DIOTLS_EXT_PSK=OFF \
	-DIOTLS_CLIENT_AUTH=OFF -DIOTLS_RECORD_SIZE=OFF -DIOTLS_ALPN=OFF -DIOTLS_KEYLOG=OFF \
	-DIOTLS_TRACE=OFF
test-minimal: $(PROVIDER_LIB)
	@test -f $(MINIMAL_BUILD)/CMakeCache.txt || cmake -S . -B $(MINIMAL_BUILD) -DIOTLS_CRYPTO=$(CRYPTO) $(MINIMAL_FLAGS) $(PROVIDER_FLAGS) $(CMAKE_FLAGS)
	$(call lab_on,$(MINIMAL_BUILD),-DIOTLS_TESTS=ON)
	cmake --build $(MINIMAL_BUILD) -j $(JOBS) --target iotls_unit_tests iotls_cli interop_freeport
	cd $(MINIMAL_BUILD) && ctest --output-on-failure -j $(JOBS) \
		-R '^(unit[.].*|interop[.]pki|interop[.]client[.]openssl[.](ecdsa-p256|rsa2048)|interop[.]server[.]openssl[.]ecdsa-p256)$$'

# The mbedTLS provider against mbedTLS 3.6, the series ESP-IDF 5 ships,
# built by scripts/mbedtls3.sh (the system's libmbedtls-dev is 2.28) from
# MBEDTLS3_SRC (a directory or tarball of mbedTLS 3.6.x) or else Debian's
# source package, fetched through the machine's own apt sources: the whole
# suite again. Without either source the leg says it was not run and why
# (exit status 3; within make test, MBEDTLS3_NOT_RUN_OK=1, the run goes on
# and its closing notes say so).
MBEDTLS3_DIR ?= build-mbedtls3-lib
MBEDTLS3_BUILD ?= build-mbedtls3
test-mbedtls3:
	@rc=0; sh scripts/mbedtls3.sh $(MBEDTLS3_DIR) || rc=$$?; \
	if [ $$rc -eq 3 ]; then \
		echo "*** make test-mbedtls3: NOT RUN (why: the line 'Mbed TLS 3.6 leg not run: ...')" >&2; \
		exit $(if $(MBEDTLS3_NOT_RUN_OK),0,3); \
	fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	$(MAKE) test-mbedtls3-suite

test-mbedtls3-suite:
	@test -f $(MBEDTLS3_BUILD)/CMakeCache.txt || cmake -S . -B $(MBEDTLS3_BUILD) -DIOTLS_CRYPTO=mbedtls \
		-DMBEDTLS_INCLUDE_DIR=$(abspath $(MBEDTLS3_DIR))/include \
		-DMBEDTLS_CRYPTO_LIB=$(abspath $(MBEDTLS3_DIR))/lib/libmbedcrypto.a \
		-DMBEDTLS_X509_LIB=$(abspath $(MBEDTLS3_DIR))/lib/libmbedx509.a $(CMAKE_FLAGS)
	$(call lab_on,$(MBEDTLS3_BUILD),$(TEST_FLAGS))
	cmake --build $(MBEDTLS3_BUILD) -j $(JOBS)
	cd $(MBEDTLS3_BUILD) && ctest --output-on-failure -j $(JOBS)

# The PSA provider against Mbed TLS 4.0 (TF-PSA-Crypto 1.0), the series
# ESP-IDF 6 ships: the library is built once per clone into MBEDTLS4_DIR
# (scripts/mbedtls4.sh; about 28 s of CPU), then the whole suite
# runs in PSA_BUILD. Without the release tarball (MBEDTLS4_SRC) the leg is
# not run and says so on the last line ("Mbed TLS 4 leg not run: why"):
# never a silent pass.
PSA_BUILD ?= build-psa
test-psa:
	@if sh scripts/mbedtls4.sh $(MBEDTLS4_DIR) check; then \
		$(MAKE) --no-print-directory test-psa-run; \
	else \
		echo "*** make test-psa: the Mbed TLS 4 leg was NOT run (the line above says why)"; \
		if [ -n "$(IOTLS_TEST_NOTES)" ]; then \
			echo "Mbed TLS 4 (PSA provider) leg: NOT RUN ($$(sh scripts/mbedtls4.sh $(MBEDTLS4_DIR) check 2>&1 | tail -n 1))" >>"$(IOTLS_TEST_NOTES)"; \
		fi; \
	fi

test-psa-run: mbedtls4-lib
	$(MAKE) CRYPTO=psa BUILD=$(PSA_BUILD) configure
	$(call lab_on,$(PSA_BUILD),$(TEST_FLAGS))
	$(MAKE) CRYPTO=psa BUILD=$(PSA_BUILD) all
	cd $(PSA_BUILD) && ctest --output-on-failure -j $(JOBS)

# The PSA provider against Mbed TLS 4 with p256-m (Mbed TLS' small fast
# P-256, MBEDTLS_PSA_P256M_DRIVER_ENABLED): scripts/mbedtls4.sh's p256m
# variant in MBEDTLS4_P256M_DIR, P-256 the only curve (TF-PSA-Crypto 1.0
# would build its own ECC code again for any other). The leg first checks
# what it is testing: the library has p256-m's entry points and not the
# built-in ECC arithmetic, and `iotls version` reports secp256r1 as the
# only group. Then the unit tests that do not need X25519 or P-384 and the
# ECDSA P-256 cells against openssl (client and server, a chain through an
# intermediate) with IA_BUILD_GROUPS_ONLY=1: each x25519 and secp384r1
# cell prints NOT RUN and why. A minute or two. Without the tarball the
# leg says it was not run, as test-psa does.
MBEDTLS4_P256M_DIR ?= build-mbedtls4-p256m-lib
PSA_P256M_BUILD ?= build-psa-p256m
# Unit tests built around X25519 or P-384 (the default groups' first, the
# HRR and resumption cases, RFC 7748 and P-384 vectors, P-384 certificates).
P256M_UNIT_NEEDS_OTHER_CURVES = aead_kex client_engine malformed pk_x509 psa_provider psk \
	server_engine session
test-psa-p256m:
	@if sh scripts/mbedtls4.sh $(MBEDTLS4_P256M_DIR) check p256m; then \
		$(MAKE) --no-print-directory test-psa-p256m-run; \
	else \
		echo "*** make test-psa-p256m: the Mbed TLS 4 p256-m leg was NOT run (the line above says why)"; \
		if [ -n "$(IOTLS_TEST_NOTES)" ]; then \
			echo "Mbed TLS 4 with p256-m (PSA provider) leg: NOT RUN ($$(sh scripts/mbedtls4.sh $(MBEDTLS4_P256M_DIR) check p256m 2>&1 | tail -n 1))" >>"$(IOTLS_TEST_NOTES)"; \
		fi; \
	fi

test-psa-p256m-run:
	@if sh scripts/mbedtls4.sh $(MBEDTLS4_P256M_DIR) check p256m >/dev/null 2>&1; then sh scripts/deps.sh mbedtls4; fi
	@sh scripts/mbedtls4.sh $(MBEDTLS4_P256M_DIR) build p256m
	@nm $(MBEDTLS4_P256M_DIR)/lib/libtfpsacrypto.a 2>/dev/null | grep -q ' T p256_transparent_sign_hash$$' || \
		{ echo "*** make test-psa-p256m: $(MBEDTLS4_P256M_DIR) has no p256-m driver"; exit 1; }
	@if nm $(MBEDTLS4_P256M_DIR)/lib/libtfpsacrypto.a 2>/dev/null | grep -q ' T mbedtls_ecp_mul$$'; then \
		echo "*** make test-psa-p256m: $(MBEDTLS4_P256M_DIR) also has the built-in ECC code"; exit 1; fi
	$(MAKE) CRYPTO=psa BUILD=$(PSA_P256M_BUILD) MBEDTLS4_DIR=$(MBEDTLS4_P256M_DIR) PROVIDER_LIB= configure
	$(call lab_on,$(PSA_P256M_BUILD),$(TEST_FLAGS))
	cmake --build $(PSA_P256M_BUILD) -j $(JOBS) --target iotls_unit_tests iotls_cli interop_freeport wolfssl_peer
	@groups=$$($(PSA_P256M_BUILD)/iotls version | sed -n 's/^groups: *//p'); \
	if [ "$$groups" != secp256r1 ]; then \
		echo "*** make test-psa-p256m: iotls version says groups: '$$groups', want secp256r1 alone"; exit 1; fi; \
	echo "test-psa-p256m: the build has only secp256r1; not run (they need X25519 or P-384):$(foreach t,$(P256M_UNIT_NEEDS_OTHER_CURVES), unit.$(t))"
	cd $(PSA_P256M_BUILD) && IA_BUILD_GROUPS_ONLY=1 ctest --output-on-failure -j $(JOBS) \
		-R '^(unit[.].*|interop[.]pki|interop[.](client|server)[.]openssl[.](ecdsa-p256|chain))$$' \
		-E '^unit[.]($(subst $(eval) ,|,$(strip $(P256M_UNIT_NEEDS_OTHER_CURVES))))$$'
	@if [ -n "$(IOTLS_TEST_NOTES)" ]; then \
		echo "Mbed TLS 4 with p256-m leg: unit tests needing X25519 or P-384 not run ($(P256M_UNIT_NEEDS_OTHER_CURVES)); x25519 and secp384r1 interop cells NOT RUN (the build has only secp256r1)" >>"$(IOTLS_TEST_NOTES)"; \
	fi

# The PSA provider against mbedTLS 3.6 (ESP-IDF 5's series), whose PSA API
# it builds on as well: scripts/mbedtls3.sh's library (default
# configuration: PSA on, threading off), the whole suite.
PSA_MBEDTLS3_BUILD ?= build-psa-mbedtls3
test-psa-mbedtls3:
	@rc=0; sh scripts/mbedtls3.sh $(MBEDTLS3_DIR) || rc=$$?; \
	if [ $$rc -eq 3 ]; then \
		echo "*** make test-psa-mbedtls3: NOT RUN (why: the line 'Mbed TLS 3.6 leg not run: ...')" >&2; \
		if [ -n "$(IOTLS_TEST_NOTES)" ]; then echo "PSA provider on mbedTLS 3.6: NOT RUN (no 3.6 source)" >>"$(IOTLS_TEST_NOTES)"; fi; \
		exit $(if $(MBEDTLS3_NOT_RUN_OK),0,3); \
	fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	$(MAKE) test-psa-mbedtls3-suite

test-psa-mbedtls3-suite:
	@test -f $(PSA_MBEDTLS3_BUILD)/CMakeCache.txt || cmake -S . -B $(PSA_MBEDTLS3_BUILD) -DIOTLS_CRYPTO=psa \
		-DPSA_INCLUDE_DIR=$(abspath $(MBEDTLS3_DIR))/include \
		-DPSA_CRYPTO_LIB=$(abspath $(MBEDTLS3_DIR))/lib/libmbedcrypto.a \
		-DPSA_X509_LIB=$(abspath $(MBEDTLS3_DIR))/lib/libmbedx509.a $(CMAKE_FLAGS)
	$(call lab_on,$(PSA_MBEDTLS3_BUILD),$(TEST_FLAGS))
	cmake --build $(PSA_MBEDTLS3_BUILD) -j $(JOBS)
	cd $(PSA_MBEDTLS3_BUILD) && ctest --output-on-failure -j $(JOBS)

# Mbed TLS 4 for CRYPTO=psa: exit status 3 and "Mbed TLS 4 leg not run:
# why" when its tarball is missing.
mbedtls4-lib:
	@if sh scripts/mbedtls4.sh $(MBEDTLS4_DIR) check >/dev/null 2>&1; then sh scripts/deps.sh mbedtls4; fi
	@sh scripts/mbedtls4.sh $(MBEDTLS4_DIR)

# The firmware for two emulated boards (port/baremetal/, docs/device.md):
# QEMU mps2-an386 (Cortex-M4) and virt (RV32IMC, the ESP32-C3's instruction
# set), each with Mbed TLS 4 cross-built from the release tarball
# (MBEDTLS4_SRC) once, into DEVICE_BUILD; DEVICE_BUILD/run-client runs one
# against a peer on 127.0.0.1. Installs its packages (scripts/deps.sh
# device) first.
DEVICE_BUILD ?= build-device
device:
	@sh scripts/deps.sh device
	JOBS=$(JOBS) sh port/baremetal/build-device.sh $(DEVICE_BUILD)

# For comparison: Mbed TLS 4's own TLS 1.3 client on the same boards
# (port/baremetal/compare/; run-client --stack mbedtls), with ESP-IDF's
# record buffers and the smallest that worked (DEVICE_MBEDTLS_RECORDS);
# tools/device/compare.py makes the table of docs/device.md from both.
# make test-device builds and runs only the small-buffer one. Also the iotls
# firmware against Mbed TLS 4 with p256-m and P-256 only (run-client
# --p256m; docs/device.md, "p256-m on the boards").
device-compare:
	@sh scripts/deps.sh device
	JOBS=$(JOBS) sh port/baremetal/build-device.sh $(DEVICE_BUILD) compare

# The full and the resumed 0-RTT handshake on both boards against openssl
# s_server and iotls server, Mbed TLS 4's client firmware on one board per
# peer, and the p256-m firmware's full handshake on both (tests/device/, a
# ctest project of its own in DEVICE_BUILD/tests). Without a cross toolchain, QEMU or the Mbed TLS 4
# tarball it says so ("device leg not run: why"): never a silent pass.
test-device:
	@sh scripts/deps.sh device || true
	@if sh port/baremetal/build-device.sh $(DEVICE_BUILD) check; then \
		$(MAKE) --no-print-directory test-device-run; \
	else \
		echo "*** make test-device: the device leg was NOT run (the line above says why)"; \
		if [ -n "$(IOTLS_TEST_NOTES)" ]; then \
			echo "device leg (emulated boards): NOT RUN ($$(sh port/baremetal/build-device.sh $(DEVICE_BUILD) check 2>&1 | tail -n 1))" >>"$(IOTLS_TEST_NOTES)"; \
		fi; \
	fi

test-device-run: device
	DEVICE_MBEDTLS_RECORDS=1024/512 JOBS=$(JOBS) sh port/baremetal/build-device.sh $(DEVICE_BUILD) compare
	$(MAKE) all
	cmake -S tests/device -B $(DEVICE_BUILD)/tests -DIOTLS=$(abspath $(BUILD))/iotls \
		-DIA_FREEPORT=$(abspath $(BUILD))/tests/interop/interop_freeport \
		-DIOTLS_DEVICE_BUILD=$(abspath $(DEVICE_BUILD)) >/dev/null
	cd $(DEVICE_BUILD)/tests && ctest --output-on-failure -j $(JOBS)

# ASan + UBSan. Whether LeakSanitizer can check leaks here was decided when
# the build was configured (cmake/LsanProbe.cmake: a probe program that
# leaks on purpose); every test carries the resulting ASAN_OPTIONS. Where it
# cannot, valgrind's memcheck tests of the other builds check leaks.
test-asan: $(PROVIDER_LIB)
	@test -f $(ASAN_BUILD)/CMakeCache.txt || cmake -S . -B $(ASAN_BUILD) -DIOTLS_CRYPTO=$(CRYPTO) -DIOTLS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(PROVIDER_FLAGS) $(CMAKE_FLAGS)
	$(call lab_on,$(ASAN_BUILD),$(TEST_FLAGS))
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@echo "test-asan: ASAN_OPTIONS $$(sed -n 1p $(ASAN_BUILD)/lsan.txt): $$(sed -n 2p $(ASAN_BUILD)/lsan.txt)"
	@if [ -n "$(IOTLS_TEST_NOTES)" ]; then \
		echo "ASan leg: leak checking $$(sed -n 1p $(ASAN_BUILD)/lsan.txt | sed 's/detect_leaks=1/by LeakSanitizer/; s/detect_leaks=0/OFF, by valgrind memcheck instead/') ($$(sed -n 2p $(ASAN_BUILD)/lsan.txt))" >>"$(IOTLS_TEST_NOTES)"; \
	fi
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

demo: deps
	$(MAKE) all
	$(BUILD)/iotls demo

# iotls, OpenSSL, wolfSSL and GnuTLS in one run (bench/cmd_bench.c): full,
# resumed and external-PSK handshakes, with instructions per handshake
# counted under valgrind's callgrind. Turns -DIOTLS_BENCH on in $(BUILD).
bench: DEPS = bench
bench: deps
	$(MAKE) configure
	$(call lab_on,$(BUILD),-DIOTLS_BENCH=ON)
	$(MAKE) all
	$(BUILD)/iotls bench --instructions

# Engine footprint for Cortex-M4 and RV32IMC (docs/footprint.md). Installs
# the cross toolchains first; they are not needed by anything else.
size:
	@sh tools/size-deps.sh
	sh tools/size-report.sh
	sh tools/stack-report.sh

# libFuzzer targets (tests/fuzz/, clang): each runs FUZZ_SECONDS on a scratch
# copy of its seed corpus; any crash, leak or sanitizer report fails it (leaks
# where LeakSanitizer can run: the configure-time probe of
# cmake/LsanProbe.cmake decides -detect_leaks and ASAN_OPTIONS). Every
# target runs even after a failure; the last line is the summary
# "fuzz: N passed, M failed" (non-zero exit when M > 0). Crash inputs land in
# $(FUZZ_BUILD)/artifacts/. Installs its packages first (clang,
# libclang-rt-14-dev: scripts/deps.sh fuzz), like `make test`.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= msg record server client x509 session
fuzz: DEPS = test fuzz
fuzz: deps
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang cmake -S . -B $(FUZZ_BUILD) -DIOTLS_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	@echo "fuzz: leak checking $$(sed -n 1p $(FUZZ_BUILD)/lsan.txt) ($$(sed -n 2p $(FUZZ_BUILD)/lsan.txt))"
	@set -e; leaks=$$(sed -n 's/^detect_leaks=//p' $(FUZZ_BUILD)/lsan.txt); \
	passed=0; failed=0; for t in $(FUZZ_TARGETS); do \
		rm -rf $(FUZZ_BUILD)/corpus-$$t; mkdir -p $(FUZZ_BUILD)/corpus-$$t $(FUZZ_BUILD)/artifacts; \
		cp tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus-$$t/; \
		echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
		if ASAN_OPTIONS=detect_leaks=$$leaks $(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -detect_leaks=$$leaks \
			-max_total_time=$(FUZZ_SECONDS) \
			-rss_limit_mb=2048 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
			$(FUZZ_BUILD)/corpus-$$t; then \
			passed=$$((passed + 1)); \
		else \
			echo "fuzz_$$t failed: see $(FUZZ_BUILD)/artifacts/"; failed=$$((failed + 1)); \
		fi; \
	done; \
	echo "fuzz: $$passed passed, $$failed failed"; test $$failed -eq 0

# PREFIX and DESTDIR given to make (or in the environment) apply at every
# install, also to a build tree configured earlier with another prefix.
INSTALL_PREFIX_ARG = $(if $(filter command environment,$(firstword $(origin PREFIX))),--prefix "$(PREFIX)")
install: all
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) $(INSTALL_PREFIX_ARG)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(MINIMAL_BUILD) $(MBEDTLS3_BUILD) $(MBEDTLS3_DIR) $(PSA_BUILD) $(MBEDTLS4_DIR) $(PSA_MBEDTLS3_BUILD) $(PSA_P256M_BUILD) $(MBEDTLS4_P256M_DIR) $(DEVICE_BUILD)
