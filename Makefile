# Thin wrapper over Meson: `make run` and `make test` are the whole quick start.
# what building and running need; what the test suites need on top
DEB_PACKAGES = gcc meson ninja-build pkg-config python3 tzdata libevent-dev libjansson-dev \
               libsqlite3-dev libsodium-dev libcurl4-openssl-dev libinih-dev
TEST_PACKAGES = libcmocka-dev prometheus
LISTEN ?= 127.0.0.1:8080

.PHONY: all deps test-deps install-packages build run test bench clean

all: build

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES) $(TEST_PACKAGES)"

install-packages:
	@missing=""; for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing:$$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	    else \
	        echo "missing packages; run:  sudo apt-get install -y$$missing"; exit 1; \
	    fi; \
	fi

build/release/build.ninja:
	meson setup build/release --buildtype=release

build: deps build/release/build.ninja
	ninja -C build/release sked

run: build
	@mkdir -p var
	./build/release/sked serve --db var/sked.db --tasks tasks.d --listen $(LISTEN)

build/asan/build.ninja:
	meson setup build/asan -Db_sanitize=address,undefined -Db_lundef=false -Dtests=enabled

test: test-deps build/asan/build.ninja
	ninja -C build/asan
	@meson test -C build/asan --print-errorlogs --num-processes 2 > build/asan/test-output.txt 2>&1; \
	rc=$$?; cat build/asan/test-output.txt; \
	ok=$$(awk '/^Ok:/{print $$2}' build/asan/test-output.txt); \
	fail=$$(awk '/^(Fail|Timeout|Unexpected Pass):/{s+=$$2} END{print s+0}' build/asan/test-output.txt); \
	echo "$${ok:-0} passed, $${fail:-0} failed"; exit $$rc

bench: build
	bench/run.sh

clean:
	rm -rf build
