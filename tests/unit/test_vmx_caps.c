/* Unit tests for the VT-x backend's pure parts: control fields computed from
 * capability MSRs (arch/x86/vmx/vmx_caps.c) and the conversion of segment
 * attributes between the neutral (SVM-style) form and VMX access rights. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../arch/x86/vmx/vmx.h"

static uint64_t cap(uint32_t must_be_one, uint32_t may_be_one)
{
	return (uint64_t)may_be_one << 32 | must_be_one;
}

static void test_wanted_bits_the_cpu_allows(void **state)
{
	uint32_t missing = 0xdead;

	(void)state;
	assert_int_equal(vmx_adjust_ctls(cap(0, 0xff), 0x0f, 0x03, &missing), 0x0f);
	assert_int_equal(missing, 0);
}

static void test_required_settings_are_added(void **state)
{
	uint32_t missing;

	(void)state;
	/* Default-1 bits (e.g. CR3-load exiting without the TRUE MSRs) stay set. */
	assert_int_equal(vmx_adjust_ctls(cap(0x16, 0xff), 0x01, 0x01, &missing), 0x17);
	assert_int_equal(missing, 0);
}

static void test_unsupported_wishes_dropped_needs_reported(void **state)
{
	uint32_t missing;

	(void)state;
	/* Bit 4 wanted but not allowed: dropped; bit 5 needed: reported. */
	assert_int_equal(vmx_adjust_ctls(cap(0, 0x0f), 0x31, 0x21, &missing), 0x01);
	assert_int_equal(missing, 0x20);
	/* A CPU that allows nothing at all. */
	assert_int_equal(vmx_adjust_ctls(0, 0xffffffffu, 0x80000000u, &missing), 0);
	assert_int_equal(missing, 0x80000000u);
}

static void test_access_rights_round_trip(void **state)
{
	static const uint16_t neutral[] = {
	    0xc9b, /* 32-bit code, G, D/B */
	    0xc93, /* data */
	    0xa9b, /* 64-bit code: L, G */
	    0x08b, /* busy 32-bit TSS */
	    0x082, /* LDT */
	    0x1f3, /* DPL 3 data with AVL */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(neutral) / sizeof(neutral[0]); i++) {
		uint32_t vmx = ar_to_vmx(neutral[i]);
		assert_int_equal(vmx & 0xff, neutral[i] & 0xff);
		assert_int_equal((vmx >> 12) & 0xf, (neutral[i] >> 8) & 0xf);
		assert_int_equal(vmx & 0xf00, 0); /* reserved in VMX */
		assert_int_equal(ar_from_vmx(vmx), neutral[i]);
	}
}

static void test_unusable_segments(void **state)
{
	(void)state;
	assert_int_equal(ar_to_vmx(0), AR_UNUSABLE);
	assert_int_equal(ar_from_vmx(AR_UNUSABLE), 0);
	/* A CPU may keep other bits in an unusable segment's rights. */
	assert_int_equal(ar_from_vmx(AR_UNUSABLE | 0x93), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wanted_bits_the_cpu_allows),
	    cmocka_unit_test(test_required_settings_are_added),
	    cmocka_unit_test(test_unsupported_wishes_dropped_needs_reported),
	    cmocka_unit_test(test_access_rights_round_trip),
	    cmocka_unit_test(test_unusable_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
