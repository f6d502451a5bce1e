/*
 * report_assets.c — report.html's style sheet and script, embedded at build
 * time from reports/assets/ so the page stays one self-contained file and
 * the files stay editable as CSS and JavaScript.
 *
 * .incbin paths are relative to the directory make runs in (the repository
 * root); the Makefile makes this object depend on the asset files.  Each
 * asset is followed by a NUL byte; report_html.c takes their lengths from
 * the end symbols.
 */
#include "report_assets.h"

#define EMBED(name, file)                                                \
    __asm__(".pushsection .rodata\n"                                     \
            ".balign 16\n"                                               \
            ".global " #name "\n"                                        \
            ".type " #name ", @object\n" #name ":\n"                     \
            ".incbin \"" file "\"\n"                                     \
            ".global " #name "_end\n" #name "_end:\n"                    \
            ".byte 0\n"                                                  \
            ".popsection\n")

EMBED(report_asset_css, "reports/assets/report.css");
EMBED(report_asset_js, "reports/assets/report.js");
