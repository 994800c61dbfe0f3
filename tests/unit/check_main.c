/* check_main.c - the main() of every unit test binary: runs the file's suite and ends with
 * the line tests/run-tests.sh sums up: "CHECK-RESULT passed=N failed=M". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

Suite *test_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(test_suite());
	int run, failed;

	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("CHECK-RESULT passed=%d failed=%d\n", run - failed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
