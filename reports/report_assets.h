/*
 * report_assets.h — the style sheet and the script of report.html
 * (reports/assets/report.css and report.js, embedded by report_assets.c).
 * Each runs from NAME to NAME_end (exclusive), followed by a NUL byte.
 */
#ifndef REHEARSE_REPORT_ASSETS_H
#define REHEARSE_REPORT_ASSETS_H

extern const char report_asset_css[], report_asset_css_end[];
extern const char report_asset_js[], report_asset_js_end[];

#endif
