/* SPDX-License-Identifier: MIT */
/* Plain driver for the fuzz target: replays every file named on the command line (or in a
 * directory) through LLVMFuzzerTestOneInput, so the corpus is a regression suite without
 * libFuzzer. With --seed DLT PCAP OUT it converts a capture into the target's input format
 * (used to build the seed corpus from the fixtures). */
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int seed(const char *pcap, const char *out)
{
    static const int dlts[] = {DLT_EN10MB, DLT_RAW,  DLT_LINUX_SLL, 276,
                               DLT_NULL,   DLT_LOOP, 228,           229};
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(pcap, err);
    struct pcap_pkthdr *h;
    const u_char *d;
    FILE *f;
    uint8_t sel = 0;

    if (!p)
        return 1;
    for (uint8_t i = 0; i < 8; i++)
        if (dlts[i] == pcap_datalink(p))
            sel = i;
    if (!(f = fopen(out, "wb")))
        return 1;
    fputc(sel, f);
    while (pcap_next_ex(p, &h, &d) == 1) {
        uint32_t len = h->caplen > 0x7fff ? 0x7fff : h->caplen;
        fputc((int)(len >> 8) | (h->caplen < h->len ? 0x80 : 0), f);
        fputc((int)(len & 0xff), f);
        fwrite(d, 1, len, f);
    }
    pcap_close(p);
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    int files = 0;

    if (argc == 4 && !strcmp(argv[1], "--seed"))
        return seed(argv[2], argv[3]);
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            while (dir && (e = readdir(dir))) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                if (run_file(path) == 0)
                    files++;
            }
            if (dir)
                closedir(dir);
        } else if (run_file(argv[i]) == 0) {
            files++;
        }
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
