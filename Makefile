# The two commands: `make run` and `make test` (see README.md).
.PHONY: run test build bench clean
run:
	scripts/run
test:
	scripts/test
build:
	scripts/install-deps run && scripts/build
bench:
	bench/run
clean:
	rm -rf build
