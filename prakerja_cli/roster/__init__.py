"""Spreadsheet rosters: reading xlsx/xls/ods/csv, header mapping, import, reports, templates, export."""
