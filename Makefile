# Thin wrapper over CMake. `make demo` and `make test` install the Debian
# packages they need first (scripts/deps.sh), so both work on a fresh clone.

# CRYPTO=openssl selects the OpenSSL libcrypto provider instead of mbedTLS,
# built in directories of its own so the two never share a CMake cache.
CRYPTO ?= mbedtls
ifeq ($(CRYPTO),openssl)
BUILD ?= build-openssl
ASAN_BUILD ?= build-openssl-asan
endif
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all deps configure test test-legs test-other-provider test-minimal test-mbedtls3 test-mbedtls3-suite \
	test-asan demo install format clean bench fuzz size

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh scripts/deps.sh

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DIOTLS_CRYPTO=$(CRYPTO) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

# The whole suite (unit, RFC 8448, provider, interop) in the normal build,
# again with the OpenSSL libcrypto provider, the minimal profile's share of
# it, the whole suite against mbedTLS 3.6, then again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Everything the run starts carries IOTLS_TEST_RUN (an id new each run) in
# its environment; at the end scripts/sweep.sh finds any process still
# carrying it (an orphan), ends it and fails the run, whether the legs passed
# or not. Only this run's processes are looked at: other people's tests on
# the same machine are left alone. The run ends with its notes: what was not
# run and why (e.g. no mbedTLS 3.6 source), how leaks were checked.
TEST_NOTES = $(abspath $(BUILD))/make-test-notes.txt
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
	$(MAKE) all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-other-provider
	$(MAKE) test-minimal
	$(MAKE) test-mbedtls3 MBEDTLS3_NOT_RUN_OK=1
	$(MAKE) test-asan

# The same suite built with the other crypto provider.
OTHER_CRYPTO = $(if $(filter openssl,$(CRYPTO)),mbedtls,openssl)
test-other-provider:
	$(MAKE) CRYPTO=$(OTHER_CRYPTO) BUILD=build-$(OTHER_CRYPTO) all
	cd build-$(OTHER_CRYPTO) && ctest --output-on-failure -j $(JOBS)

# The minimal device profile: every optional feature switched off
# (include/iotls/features.h; the same switches scripts/size-report.sh
# measures). Builds only the unit tests that apply (tests/CMakeLists.txt
# declares which need what), the iotls command and the port helper, then
# runs them and the suites x groups cells of our client against openssl
# s_server (two certificates) and of openssl s_client against our server.
MINIMAL_BUILD ?= build-minimal
MINIMAL_FLAGS = -DIOTLS_RESUMPTION=OFF -DIOTLS_EARLY_DATA=OFF -DIOTLS_EXT_PSK=OFF \
	-DIOTLS_CLIENT_AUTH=OFF -DIOTLS_RECORD_SIZE=OFF -DIOTLS_ALPN=OFF -DIOTLS_KEYLOG=OFF \
	-DIOTLS_TRACE=OFF
test-minimal:
	@test -f $(MINIMAL_BUILD)/CMakeCache.txt || cmake -S . -B $(MINIMAL_BUILD) -DIOTLS_CRYPTO=$(CRYPTO) $(MINIMAL_FLAGS) $(CMAKE_FLAGS)
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
	cmake --build $(MBEDTLS3_BUILD) -j $(JOBS)
	cd $(MBEDTLS3_BUILD) && ctest --output-on-failure -j $(JOBS)

# ASan + UBSan. Whether LeakSanitizer can check leaks here was decided when
# the build was configured (cmake/LsanProbe.cmake: a probe program that
# leaks on purpose); every test carries the resulting ASAN_OPTIONS. Where it
# cannot, valgrind's memcheck tests of the other builds check leaks.
test-asan:
	@test -f $(ASAN_BUILD)/CMakeCache.txt || cmake -S . -B $(ASAN_BUILD) -DIOTLS_CRYPTO=$(CRYPTO) -DIOTLS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@echo "test-asan: ASAN_OPTIONS $$(sed -n 1p $(ASAN_BUILD)/lsan.txt): $$(sed -n 2p $(ASAN_BUILD)/lsan.txt)"
	@if [ -n "$(IOTLS_TEST_NOTES)" ]; then \
		echo "ASan leg: leak checking $$(sed -n 1p $(ASAN_BUILD)/lsan.txt | sed 's/detect_leaks=1/by LeakSanitizer/; s/detect_leaks=0/OFF, by valgrind memcheck instead/') ($$(sed -n 2p $(ASAN_BUILD)/lsan.txt))" >>$(IOTLS_TEST_NOTES); \
	fi
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

demo: deps
	$(MAKE) all
	$(BUILD)/iotls demo

# iotls, OpenSSL, wolfSSL and GnuTLS in one run (apps/cmd_bench.c): full,
# resumed and external-PSK handshakes, with instructions per handshake
# counted under valgrind's callgrind.
bench: deps
	$(MAKE) all
	$(BUILD)/iotls bench --instructions

# Engine footprint for Cortex-M4 and RV32IMC (docs/footprint.md). Installs
# the cross toolchains first; they are not needed by anything else.
size:
	@sh scripts/size-deps.sh
	sh scripts/size-report.sh
	sh scripts/stack-report.sh

# libFuzzer targets (tests/fuzz/, clang): each runs FUZZ_SECONDS on a scratch
# copy of its seed corpus; any crash, leak or sanitizer report fails it (leaks
# where LeakSanitizer can run: the configure-time probe of
# cmake/LsanProbe.cmake decides -detect_leaks and ASAN_OPTIONS). Every
# target runs even after a failure; the last line is the summary
# "fuzz: N passed, M failed" (non-zero exit when M > 0). Crash inputs land in
# $(FUZZ_BUILD)/artifacts/. Installs its packages first (clang,
# libclang-rt-14-dev: scripts/deps.sh), like `make test`.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= msg record server client x509 session
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

install: all
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(MINIMAL_BUILD) $(MBEDTLS3_BUILD) $(MBEDTLS3_DIR)
