"""The supervisor's papers: the period recap (terminal, workbook, PDF), the applicant's receipt,
and the Permenaker 17/2020 handover package (recap workbook, BAST, manifest).

Plain functions over the office's store; the commands in cli/ only parse and render. fpdf2,
segno and openpyxl are imported inside the functions that draw, so other commands start as fast
as before. The PDFs embed DejaVu Sans (fonts/, Bitstream Vera licence) so any name prints.
"""
