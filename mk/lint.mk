# Static checks: the strict warning set is part of every build (HV_CFLAGS);
# here come formatting (.clang-format) and cppcheck over the C sources.
# comparePointers is suppressed where Keel does arithmetic on linker symbols
# (trampoline, exception table, host drivers): those arrays are one object to
# the linker.
LINT_SRCS := $(shell git ls-files '*.c' '*.h' 2>/dev/null)

lint: lint-check

lint-check:
	@echo "  FORMAT  clang-format --dry-run ($(words $(LINT_SRCS)) files)"
	@clang-format --dry-run --Werror $(LINT_SRCS)
	@echo "  CPPCHECK"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
		--enable=warning,portability,performance \
		--suppress=missingIncludeSystem --suppress=unknownMacro \
		$(foreach f,arch/x86/smp.c arch/x86/traps.c drivers/host_driver.c,--suppress=comparePointers:$(f)) \
		-D__x86_64__ -DKEEL_HOSTED= -Iinclude -Iarch/x86/include \
		arch core vdev lib drivers

# Rewrite the tree in the project's style.
format:
	@clang-format -i $(LINT_SRCS)
