/* fuzz_replay.c — replays every file of a fuzz corpus through the harness without libFuzzer,
 * so `make test` re-checks each past finding under ASan+UBSan. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One replayer source serves both harnesses: WM_FUZZ_ONE names the harness entry point. */
#ifndef WM_FUZZ_ONE
#define WM_FUZZ_ONE wm_fuzz_one
#endif
int WM_FUZZ_ONE(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 1;   /* not a file: skip */
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf || (long)got != n) { free(buf); return -1; }
    WM_FUZZ_ONE(buf, got);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) { fprintf(stderr, "fuzz_replay: cannot open corpus directory %s\n", argv[a]); failed++; continue; }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name);
            int r = replay_file(path);
            if (r == 0) passed++;
            else if (r < 0) { fprintf(stderr, "FAIL cannot read %s\n", path); failed++; }
        }
        closedir(d);
    }
    if (passed == 0 && failed == 0) { fprintf(stderr, "fuzz_replay: empty corpus\n"); failed = 1; }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
