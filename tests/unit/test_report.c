/* The report's pieces without a browser: the CSV reader (quotes, a half-written last line),
 * the charts (log axes, gaps, an empty chart), the PNG encoder (decoded back with zlib), and
 * a whole run page from hand-made files, including the per-step record and the errors of a
 * bad directory and an unwritable output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/report.h"
#include "report/csv_table.h"
#include "report/png_image.h"
#include "report/svg_plot.h"

static char scratch[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    text[fread(text, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return text;
}

static void test_csv(void **state)
{
    (void)state;
    write_file("t.csv", "trial,lr,status,val_loss,reason\n"
                        "1,0.1,finished,0.5,\n"
                        "2,1e38,failed,,\"non-finite loss, at \"\"dense1\"\"\nsecond line\"\n"
                        "3,0.01,runn");
    char path[512];
    snprintf(path, sizeof path, "%s/t.csv", scratch);
    nni_csv_table t;
    nn_error err = {0};
    assert_int_equal(nni_csv_read(path, &t, &err), NN_OK);
    assert_int_equal(t.cols, 5);
    assert_int_equal(t.rows, 2); /* the half-written third row is left out */
    assert_int_equal(nni_csv_column(&t, "val_loss"), 3);
    assert_int_equal(nni_csv_column(&t, "nope"), -1);
    assert_string_equal(nni_csv_cell(&t, 1, 4), "non-finite loss, at \"dense1\"\nsecond line");
    assert_true(fabs(nni_csv_number(&t, 0, 3) - 0.5) < 1e-12);
    assert_true(isnan(nni_csv_number(&t, 1, 3)));
    assert_true(isnan(nni_csv_number(&t, 0, -1)));
    double *lr = nni_csv_numbers(&t, "lr");
    assert_true(lr[1] == 1e38);
    free(lr);
    nni_csv_free(&t);
    snprintf(path, sizeof path, "%s/missing.csv", scratch);
    assert_int_equal(nni_csv_read(path, &t, &err), NN_ERR_DATA);
    assert_non_null(strstr(err.msg, "missing.csv"));
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_line_chart(void **state)
{
    (void)state;
    double x[5] = {1, 2, 3, 4, 5}, y[5] = {1e-4, 1e-3, NAN, 1e-1, 1};
    nni_plot p = {.title = "Loss <all>", .x_title = "epoch", .y_title = "loss", .log_y = 1,
                  .x_integer = 1, .n_series = 2};
    p.series[0] = (nni_plot_series){"training", x, y, 5, 0, 0, -1};
    p.series[1] = (nni_plot_series){"validation", x, y, 5, 0, 1, -1};
    nni_text out = {0};
    nni_plot_lines(&out, &p, "loss");
    assert_false(out.failed);
    assert_non_null(strstr(out.data, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"loss\""));
    assert_non_null(strstr(out.data, "Loss &lt;all&gt;"));
    assert_non_null(strstr(out.data, ">0.0001</text>")); /* decades as ticks */
    assert_non_null(strstr(out.data, ">1</text>"));
    assert_non_null(strstr(out.data, ">validation</text>")); /* a legend for two series */
    /* the NaN breaks each line into two pieces: two moves per path */
    const char *path = strstr(out.data, "<path");
    assert_non_null(path);
    const char *d = strstr(path, "d=\"") + 3;
    int moves = 0;
    for (const char *c = d; *c != '"'; c++)
        moves += *c == 'M';
    assert_int_equal(moves, 2);
    assert_int_equal(count(out.data, "<svg"), 1);
    assert_int_equal(count(out.data, "</svg>"), 1);
    nni_text_free(&out);

    nni_plot empty = {.title = "Nothing", .x_title = "epoch", .y_title = "loss"};
    nni_plot_lines(&out, &empty, "empty");
    assert_non_null(strstr(out.data, "no data recorded"));
    nni_text_free(&out);
}

static void test_heatmap_and_spread(void **state)
{
    (void)state;
    const char *names[3] = {"cat", "dog", "a very long class name indeed"};
    long long counts[9] = {5, 1, 0, 2, 7, 1, 0, 0, 9};
    nni_heatmap h = {.title = "Confusion", .rows = 3, .cols = 3, .row_labels = names,
                     .col_labels = names, .counts = counts};
    nni_text out = {0};
    nni_plot_heatmap(&out, &h, "confusion");
    assert_int_equal(count(out.data, "data-count="), 9);
    assert_non_null(strstr(out.data, "data-count=\"7\""));
    assert_non_null(strstr(out.data, "a very long cla\xe2\x80\xa6")); /* shortened */
    nni_text_free(&out);
    double a[3] = {0.5, 0.7, 0.6}, b[1] = {0.9};
    const double *values[2] = {a, b};
    int n[2] = {3, 1};
    nni_spread s = {.title = "Seeds", .y_title = "val_accuracy", .groups = 2, .labels = names,
                    .values = values, .counts = n};
    nni_plot_spread(&out, &s, "seeds");
    assert_int_equal(count(out.data, "<circle"), 4);
    nni_text_free(&out);
}

/* The best item (by the last dimension) is drawn last and thickest, whatever the goal. */
static void test_parallel_order(void **state)
{
    (void)state;
    const char *names[2] = {"lr", "val_accuracy"};
    int log[2] = {0, 0};
    double values[6] = {1, 0.4, 2, 0.9, 3, 0.6};
    for (int maximize = 0; maximize <= 1; maximize++) {
        nni_parallel p = {.title = "pc", .dims = 2, .items = 3, .names = names, .log = log,
                          .values = values, .maximize = maximize};
        nni_text out = {0};
        nni_plot_parallel(&out, &p, "parallel");
        const char *thick = strstr(out.data, "stroke-width=\"3\" stroke-opacity");
        assert_non_null(thick);
        assert_null(strstr(thick + 1, "stroke-width=\"3\" stroke-opacity"));
        /* lr axis 1..3 from y 334 to 64: the best item's lr (2 or 1) sets where it starts */
        assert_non_null(strstr(thick, maximize ? "M70.0 199.0" : "M70.0 324.0"));
        nni_text_free(&out);
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_png(void **state)
{
    (void)state;
    float grey[6] = {0, 0.5f, 1, 1, 0.5f, 0}; /* 2 rows of 3 */
    nni_text out = {0};
    assert_true(nni_png_data_uri(&out, grey, 1, 2, 3));
    const char *prefix = "data:image/png;base64,";
    assert_memory_equal(out.data, prefix, strlen(prefix));
    /* decode base64 */
    const char *b64 = out.data + strlen(prefix);
    unsigned char file[512];
    size_t n = 0;
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; b64[i] && b64[i] != '='; i += 4) {
        uint32_t v = 0;
        int got = 0;
        for (int k = 0; k < 4; k++) {
            const char *at = b64[i + k] && b64[i + k] != '=' ? strchr(digits, b64[i + k]) : NULL;
            v = v << 6 | (at ? (uint32_t)(at - digits) : 0);
            got += at != NULL;
        }
        for (int k = 0; k < got - 1; k++)
            file[n++] = (unsigned char)(v >> (16 - 8 * k));
        if (got < 4)
            break;
    }
    assert_memory_equal(file, "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal(be32(file + 8), 13);
    assert_memory_equal(file + 12, "IHDR", 4);
    assert_int_equal(be32(file + 16), 3); /* width */
    assert_int_equal(be32(file + 20), 2); /* height */
    assert_int_equal(be32(file + 29), crc32(crc32(0, NULL, 0), file + 12, 17));
    size_t idat = 33;
    assert_memory_equal(file + idat + 4, "IDAT", 4);
    uLongf raw_size = 64;
    unsigned char raw[64];
    assert_int_equal(uncompress(raw, &raw_size, file + idat + 8, be32(file + idat)), Z_OK);
    const unsigned char want[8] = {0, 0, 128, 255, 0, 255, 128, 0};
    assert_int_equal(raw_size, 8);
    assert_memory_equal(raw, want, 8);
    nni_text_free(&out);
}

static void test_run_page(void **state)
{
    (void)state;
    char run[300], out[400], plot[450];
    snprintf(run, sizeof run, "%s/run", scratch);
    mkdir(run, 0755);
    write_file("run/metrics.csv", "epoch,lr,loss,accuracy,val_loss,val_accuracy,seconds,"
                                  "samples_per_second\n1,0.01,2.1,0.3,1.9,0.35,1.5,4000.0\n"
                                  "2,0.005,1.2,0.6,1.3,0.55,1.4,4100.5\n3,0.0025,0.8");
    write_file("run/metrics-steps.csv", "epoch,step,loss,accuracy,lr,grad_norm,samples_per_s\n"
                                        "1,1,2.3,0.1,0.01,12.5,3900\n1,2,2.0,0.2,0.01,3.5,4000\n"
                                        "2,1,1.5,0.5,0.005,0.9,4100\n");
    snprintf(out, sizeof out, "%s/page.html", scratch);
    const char *paths[1] = {run};
    nn_report_options options = {.evaluate = 1};
    nn_error err = {0};
    assert_int_equal(nn_report_kind_of(run), NN_REPORT_RUN);
    assert_int_equal(nn_report_write(paths, 1, out, &options, &err), NN_OK);
    char *html = read_file(out);
    assert_non_null(html);
    assert_non_null(strstr(html, "<section id=\"curves\">"));
    assert_non_null(strstr(html, "<section id=\"steps\">"));
    assert_non_null(strstr(html, "3 steps recorded"));
    assert_non_null(strstr(html, "<td>4100.5</td>"));
    assert_null(strstr(html, "<td>0.8</td>")); /* the half-written epoch is not shown */
    assert_non_null(strstr(html, "No best.h5 or last.h5"));
    free(html);
    snprintf(plot, sizeof plot, "%s/page-plots/step-grad_norm.svg", scratch);
    char *svg = read_file(plot);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<?xml"));
    free(svg);

    /* neither a run nor a search; an output that cannot be written */
    char empty[300], bad_out[400];
    snprintf(empty, sizeof empty, "%s/empty", scratch);
    mkdir(empty, 0755);
    paths[0] = empty;
    assert_int_equal(nn_report_kind_of(empty), NN_REPORT_NONE);
    assert_int_equal(nn_report_write(paths, 1, out, &options, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "neither a run"));
    paths[0] = run;
    snprintf(bad_out, sizeof bad_out, "%s/no/such/dir/page.html", scratch);
    assert_int_not_equal(nn_report_write(paths, 1, bad_out, &options, &err), NN_OK);
    assert_non_null(strstr(err.msg, "no/such/dir/page.html"));
}

static void test_search_page(void **state)
{
    (void)state;
    char dir[300], out[400];
    snprintf(dir, sizeof dir, "%s/search", scratch);
    mkdir(dir, 0755);
    write_file("search/trials.csv",
               "trial,train.optimizer.lr,train.optimizer.type,seed,status,val_loss,best_epoch,"
               "epochs,seconds,group,reason\n"
               "1,0.001,adam,1,finished,0.42,2,2,1.5,0,\n"
               "2,0.1,sgd,1,pruned,0.9,1,1,0.7,1,\n"
               "3,1e38,sgd,2,failed,,,,0.1,0,\"non-finite loss, at <dense1>\"\n"
               "4,0.001,adam,2,finished,0.40,2,2,1.6,1,\n"
               "5,0.01,adam,1,pending,,,,,,\n");
    write_file("search/search.yaml", "search:\n  metric: {name: val_loss, goal: minimize}\n"
                                     "  parameters:\n"
                                     "    train.optimizer.lr: {distribution: log_uniform, min: "
                                     "0.0001, max: 1}\n");
    mkdir(strcat(strcpy(out, dir), "/trial-001"), 0755);
    mkdir(strcat(strcpy(out, dir), "/trial-002"), 0755);
    write_file("search/trial-001/metrics.csv", "epoch,val_loss\n1,0.6\n2,0.42\n");
    write_file("search/trial-002/metrics.csv", "epoch,val_loss\n1,0.9\n");
    snprintf(out, sizeof out, "%s/search.html", scratch);
    const char *paths[1] = {dir};
    nn_report_options options = {0};
    nn_error err = {0};
    assert_int_equal(nn_report_kind_of(dir), NN_REPORT_SEARCH);
    assert_int_equal(nn_report_write(paths, 1, out, &options, &err), NN_OK);
    char *html = read_file(out);
    assert_non_null(html);
    /* the leaderboard in rank order (lower val_loss first), unranked trials last */
    const char *t4 = strstr(html, "<td>1</td><td>4</td>"), *t1 = strstr(html, "<td>2</td><td>1</td>");
    const char *t3 = strstr(html, "<td>-</td><td>3</td>");
    assert_non_null(t4);
    assert_non_null(t1);
    assert_non_null(t3);
    assert_true(t4 < t1 && t1 < t3);
    assert_non_null(strstr(html, "non-finite loss, at &lt;dense1&gt;"));
    assert_non_null(strstr(html, "lower is better"));
    static const char *const ids[] = {"leaderboard", "param-0", "param-1", "param-2", "parallel",
                                      "best-curves", "rungs", "seeds"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"%s\"", ids[i]);
        assert_non_null(strstr(html, id));
    }
    free(html);
    /* a search and runs on one page: refused */
    char run[300];
    snprintf(run, sizeof run, "%s/run", scratch);
    const char *mixed[2] = {dir, run};
    assert_int_equal(nn_report_write(mixed, 2, out, &options, &err), NN_ERR_CONFIG);
}

int main(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/nn-test-report-XXXXXX");
    if (!mkdtemp(scratch))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_line_chart),
        cmocka_unit_test(test_heatmap_and_spread),
        cmocka_unit_test(test_parallel_order),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_run_page),
        cmocka_unit_test(test_search_page),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0)
        return 1;
    return failed;
}
