# Thin wrapper over Meson: `make run` and `make test` are the whole quick start.
# what building and running need; what the test suites need on top
DEB_PACKAGES = gcc meson ninja-build pkg-config python3 tzdata libevent-dev libjansson-dev \
               libsqlite3-dev libsodium-dev libcurl4-openssl-dev libinih-dev libhiredis-dev \
               librabbitmq-dev
TEST_PACKAGES = libcmocka-dev prometheus groff-base redis-server python3-celery python3-redis \
                rabbitmq-server openssl
# the admin UI's browser tests: Chromium and Node.js with npm (Debian's npm only when no npm is
# installed: a nodejs from elsewhere includes one and conflicts with Debian's)
TEST_PACKAGES += chromium nodejs $(if $(shell command -v npm),,npm)
LISTEN ?= 127.0.0.1:8080

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
SKED_BIN ?= build/release/sked
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share/sked

.PHONY: all deps test-deps install-packages build run test bench bench-peers clean install

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

# Celery, BullMQ, beanstalkd, graphile-worker and the raw ceilings, measured on this machine for
# the ratios of the benchmark table: bench/out/peers.json (bench/peers/README.md)
bench-peers:
	bench/peers/run.sh

# The binary, the man page, the documents, the example job types and a systemd unit that runs
# sked as the user sked with /etc/sked/sked.conf (written only if it does not exist yet).
install: $(SKED_BIN)
	install -D -m 0755 $(SKED_BIN) $(DESTDIR)$(BINDIR)/sked
	install -D -m 0644 docs/sked.1 $(DESTDIR)$(PREFIX)/share/man/man1/sked.1
	install -d $(DESTDIR)$(DATADIR)/tasks.d $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(DATADIR)/doc
	install -m 0644 tasks.d/*.json $(DESTDIR)$(DATADIR)/tasks.d/
	install -m 0755 examples/*.sh $(DESTDIR)$(DATADIR)/examples/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DATADIR)/doc/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/sked.service.in \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/sked.service
	install -d $(DESTDIR)$(SYSCONFDIR)/sked
	[ -e $(DESTDIR)$(SYSCONFDIR)/sked/sked.conf ] || \
	    install -m 0640 packaging/sked.conf $(DESTDIR)$(SYSCONFDIR)/sked/sked.conf
	# the service runs as sked, which must be able to read its settings
	! getent group sked >/dev/null || chgrp sked $(DESTDIR)$(SYSCONFDIR)/sked/sked.conf || \
	    echo "could not chgrp sked $(DESTDIR)$(SYSCONFDIR)/sked/sked.conf: do it as root"
	[ -e $(DESTDIR)$(SYSCONFDIR)/sked/tasks.d ] || \
	    ln -s $(DATADIR)/tasks.d $(DESTDIR)$(SYSCONFDIR)/sked/tasks.d
	@echo "installed; for the service: useradd --system --user-group --home-dir /var/lib/sked" \
	      "--no-create-home --shell /usr/sbin/nologin sked &&" \
	      "chgrp sked $(SYSCONFDIR)/sked/sked.conf &&" \
	      "systemctl daemon-reload && systemctl enable --now sked"

clean:
	rm -rf build
