/* The atomic whole-file write (core/files.h): the file appears whole under its name, and a
 * name held by something that is not a regular file (a FIFO here, as a device like /dev/null
 * would be) is refused in one line and left as it was, not replaced by the rename. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"

static void test_atomic_write_replaces_a_file(void **state)
{
    (void)state;
    const char *path = "test_files_out.txt";
    nn_error err = {0};
    assert_int_equal(nni_write_file_atomic(path, "old\n", 4, &err), NN_OK);
    assert_int_equal(nni_write_file_atomic(path, "new text\n", 9, &err), NN_OK);
    char buf[32] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f), 9);
    fclose(f);
    assert_string_equal(buf, "new text\n");
    assert_int_equal(access("test_files_out.txt.tmp", F_OK), -1);
    unlink(path);
}

static void test_atomic_write_refuses_a_fifo(void **state)
{
    (void)state;
    const char *path = "test_files_fifo";
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    nn_error err = {0};
    assert_int_equal(nni_write_file_atomic(path, "x\n", 2, &err), NN_ERR_OTHER);
    assert_non_null(strstr(err.msg, "test_files_fifo: exists and is not a regular file"));
    assert_null(strchr(err.msg, '\n'));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(access("test_files_fifo.tmp", F_OK), -1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_replaces_a_file),
        cmocka_unit_test(test_atomic_write_refuses_a_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
