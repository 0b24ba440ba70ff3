/* main.c - the mlgate command: dispatches subcommands from one table (git-style). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct cmd commands[] = {
    {"check", cmd_check, "the gate: does every model of a matrix really answer (smoke, up, a real inference)"},
    {"doctor", cmd_doctor, "audit this machine: GPUs, driver, CUDA, CPU features, NUMA, memory"},
    {"drift", cmd_drift, "what changed since a lock: driver, GPUs, binaries, packages, models, and what it does"},
    {"fit", cmd_fit, "will this model fit on these GPUs and this RAM (GGUF as llama.cpp places it)"},
    {"plan", cmd_plan, "do a model matrix's models fit together on these GPUs (VRAM/RAM budget)"},
    {"explain", cmd_explain, "what an error message or a log means: known cause, checks on this machine, fix"},
    {"history", cmd_history, "recent gate runs from the receipts, and the models that flap"},
    {"inspect", cmd_inspect, "what a model (GGUF, safetensors; local or URL) really is: size, parameters, types"},
    {"lock", cmd_lock, "record what a passing state is made of (GPUs, driver, binaries, packages, models) in a lock file"},
    {"serve", cmd_serve, "the gate kept live: readiness, capabilities, Prometheus metrics, node labels (a daemon)"},
    {"scan", cmd_scan, "which GPUs can run the CUDA code in these binaries, directories and wheels"},
    {"help", cmd_help, "show help for mlgate or one command"},
    {"version", cmd_version, "print mlgate's version (--json too)"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: mlgate <command> [options] [args]\n\n"
               "Will this ML stack run on this GPU, and does it actually run?\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'mlgate help <command>' or 'mlgate <command> --help' explains a command.\n"
               "Exit codes: 0 all good, 1 something will not run, 2 usage or internal error.\n");
}

static const struct cmd *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return EXIT_PASS;
    }
    const struct cmd *c = find(argv[1]);
    if (!c || c->run == cmd_help) {
        fprintf(stderr, "mlgate: no command '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    char *args[] = {argv[1], "--help", NULL};
    return c->run(2, args);
}

static int cmd_version(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: mlgate version [--json]\n\nPrints mlgate's version (also: mlgate --version, mlgate -V).\n");
            return EXIT_PASS;
        } else
            return cli_usage("version", json, "unexpected argument '%s'", argv[i]);
    }
    if (json)
        mg_json_version(stdout);
    else
        printf("mlgate %s\n", MLGATE_VERSION);
    return EXIT_PASS;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cmd_help(1, argv);
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
        return cmd_version(argc - 1, argv + 1);
    const struct cmd *c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "mlgate: '%s' is not a command. See 'mlgate --help'.\n", argv[1]);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
