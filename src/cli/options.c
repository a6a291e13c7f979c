/* A verb's flag table turned into getopt_long's tables, and back into one-line errors. */
#include <getopt.h>
#include <string.h>

#include "cli/options.h"
#include "config/cfg_internal.h"

enum {
    MAX_FLAGS = 64,
    FIRST_LONG_ID = 256,
    HELP_ID = FIRST_LONG_ID + MAX_FLAGS,
    LIST_FLAGS_ID = HELP_ID + 1
};

static int count_flags(const nni_cli_spec *spec)
{
    int n = 0;
    while (spec->flags && spec->flags[n].name)
        n++;
    return n;
}

static int flag_index(const nni_cli_spec *spec, const char *name)
{
    for (int i = 0; spec->flags && spec->flags[i].name; i++)
        if (!strcmp(spec->flags[i].name, name))
            return i;
    return -1;
}

static nn_status unknown_flag(const nni_cli_spec *spec, const char *arg, nn_error *err)
{
    char name[64];
    const char *start = arg + strspn(arg, "-");
    size_t len = strcspn(start, "=");
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, start, len);
    name[len] = '\0';
    const char *names[MAX_FLAGS + 2];
    int n = 0;
    for (; spec->flags && spec->flags[n].name && n < MAX_FLAGS; n++)
        names[n] = spec->flags[n].name;
    names[n++] = "help";
    names[n] = NULL;
    const char *close = arg[1] == '-' ? nni_cfg_closest(name, names) : NULL;
    if (close)
        return nn_fail(err, NN_ERR_CONFIG, "%s: unknown flag '%s' (did you mean '--%s'?; see "
                       "nntrain %s --help)", spec->verb, arg, close, spec->verb);
    return nn_fail(err, NN_ERR_CONFIG, "%s: unknown flag '%s' (see nntrain %s --help)",
                   spec->verb, arg, spec->verb);
}

static const char *display_name(const nni_cli_spec *spec, int id, char *buf, size_t size)
{
    if (id >= FIRST_LONG_ID && id < HELP_ID)
        snprintf(buf, size, "--%s", spec->flags[id - FIRST_LONG_ID].name);
    else
        snprintf(buf, size, "-%c", (char)id);
    return buf;
}

/* --list-flags (not in the help): every flag of the table, one per line with its value's
 * placeholder, for the shell completion and for the test that checks --help against the
 * table. */
static void list_flags(FILE *out, const nni_cli_spec *spec)
{
    for (int i = 0; spec->flags && spec->flags[i].name; i++) {
        const nni_cli_flag *f = &spec->flags[i];
        fprintf(out, "--%s%s%s\n", f->name, f->value ? " " : "", f->value ? f->value : "");
        if (f->letter)
            fprintf(out, "-%c%s%s\n", f->letter, f->value ? " " : "", f->value ? f->value : "");
    }
    fprintf(out, "--help\n-h\n");
}

static nn_status parse(int argc, char **argv, const nni_cli_spec *spec, nni_cli_args *args,
                        nn_error *err)
{
    memset(args, 0, sizeof *args);
    args->spec = spec;
    int n_flags = count_flags(spec);
    if (n_flags > MAX_FLAGS)
        return nn_fail(err, NN_ERR_OTHER, "%s: more than %d flags", spec->verb, MAX_FLAGS);

    struct option long_options[MAX_FLAGS + 3];
    char short_options[2 * MAX_FLAGS + 4] = ":h"; /* ':' reports a missing value apart */
    size_t short_used = strlen(short_options);
    for (int i = 0; i < n_flags; i++) {
        const nni_cli_flag *f = &spec->flags[i];
        long_options[i] = (struct option){f->name, f->value ? required_argument : no_argument,
                                          NULL, FIRST_LONG_ID + i};
        if (f->letter) {
            short_options[short_used++] = f->letter;
            if (f->value)
                short_options[short_used++] = ':';
        }
    }
    short_options[short_used] = '\0';
    long_options[n_flags] = (struct option){"help", no_argument, NULL, HELP_ID};
    long_options[n_flags + 1] = (struct option){"list-flags", no_argument, NULL, LIST_FLAGS_ID};
    long_options[n_flags + 2] = (struct option){NULL, 0, NULL, 0};

    opterr = 0;
    optind = 0; /* 0, not 1: glibc then starts afresh (each verb parses once, tests many) */
    for (;;) {
        int id = getopt_long(argc, argv, short_options, long_options, NULL);
        if (id == -1)
            break;
        char name[80];
        if (id == '?') {
            if (optopt >= FIRST_LONG_ID && optopt < HELP_ID)
                return nn_fail(err, NN_ERR_CONFIG, "%s: %s takes no value", spec->verb,
                               display_name(spec, optopt, name, sizeof name));
            if (optopt == HELP_ID || optopt == LIST_FLAGS_ID)
                return nn_fail(err, NN_ERR_CONFIG, "%s: --%s takes no value", spec->verb,
                               optopt == HELP_ID ? "help" : "list-flags");
            if (optopt) {
                char text[3] = {'-', (char)optopt, '\0'};
                return unknown_flag(spec, text, err);
            }
            return unknown_flag(spec, argv[optind - 1], err);
        }
        if (id == ':')
            return nn_fail(err, NN_ERR_CONFIG, "%s: %s needs a value (see nntrain %s --help)",
                           spec->verb, display_name(spec, optopt, name, sizeof name),
                           spec->verb);
        if (id == 'h' || id == HELP_ID) {
            args->help = 1;
            continue;
        }
        if (id == LIST_FLAGS_ID) {
            args->help = 2;
            continue;
        }
        int index = id >= FIRST_LONG_ID ? id - FIRST_LONG_ID : -1;
        for (int i = 0; index < 0 && i < n_flags; i++)
            if (spec->flags[i].letter == id)
                index = i;
        if (args->n_given == NNI_CLI_MAX_GIVEN)
            return nn_fail(err, NN_ERR_CONFIG, "%s: more than %d flags given", spec->verb,
                           NNI_CLI_MAX_GIVEN);
        args->given_flag[args->n_given] = index;
        args->given_value[args->n_given] = spec->flags[index].value ? optarg : NULL;
        args->n_given++;
    }
    args->operands = argv + optind;
    args->n_operands = argc - optind;
    if (args->help) {
        if (args->help == 2)
            list_flags(stdout, spec);
        else
            nni_cli_print_help(stdout, spec);
        return NN_OK;
    }
    if (args->n_operands < spec->min_operands)
        return nn_fail(err, NN_ERR_CONFIG, "usage: nntrain %s %s (see nntrain %s --help)",
                       spec->verb, spec->operands ? spec->operands : "", spec->verb);
    if (spec->max_operands >= 0 && args->n_operands > spec->max_operands)
        return nn_fail(err, NN_ERR_CONFIG, "%s: unexpected argument '%s' (usage: nntrain %s %s)",
                       spec->verb, args->operands[spec->max_operands], spec->verb,
                       spec->operands ? spec->operands : "");
    return NN_OK;
}

/* Whether this process's command line failed to parse: every rank of a job has the same
 * command line and fails alike, so the error is one message, printed by rank 0. */
static int command_line_failed;

nn_status nni_cli_parse(int argc, char **argv, const nni_cli_spec *spec, nni_cli_args *args,
                        nn_error *err)
{
    nn_status st = parse(argc, argv, spec, args, err);
    command_line_failed = st != NN_OK;
    return st;
}

int nni_cli_command_line_failed(void)
{
    return command_line_failed;
}

const char *nni_cli_nth_value(const nni_cli_args *args, const char *name, int n)
{
    int index = flag_index(args->spec, name);
    for (int i = 0; index >= 0 && i < args->n_given; i++)
        if (args->given_flag[i] == index && n-- == 0)
            return args->given_value[i] ? args->given_value[i] : "";
    return NULL;
}

int nni_cli_count(const nni_cli_args *args, const char *name)
{
    int index = flag_index(args->spec, name), count = 0;
    for (int i = 0; index >= 0 && i < args->n_given; i++)
        count += args->given_flag[i] == index;
    return count;
}

const char *nni_cli_value(const nni_cli_args *args, const char *name)
{
    int count = nni_cli_count(args, name);
    return count ? nni_cli_nth_value(args, name, count - 1) : NULL;
}

void nni_cli_print_help(FILE *out, const nni_cli_spec *spec)
{
    fprintf(out, "usage: nntrain %s%s%s [flags]\n%s\n\nflags:\n", spec->verb,
            spec->operands ? " " : "", spec->operands ? spec->operands : "", spec->summary);
    for (int i = 0; spec->flags && spec->flags[i].name; i++) {
        const nni_cli_flag *f = &spec->flags[i];
        char left[80];
        int used = f->letter ? snprintf(left, sizeof left, "-%c, ", f->letter)
                             : snprintf(left, sizeof left, "    ");
        snprintf(left + used, sizeof left - (size_t)used, "--%s%s%s", f->name,
                 f->value ? " " : "", f->value ? f->value : "");
        fprintf(out, "  %-28s %s\n", left, f->help);
    }
    fprintf(out, "  %-28s %s\n", "-h, --help", "print this help and exit");
}
