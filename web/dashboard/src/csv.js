// CSV files of the charts' data, made in the browser from the very rows the
// chart was drawn from.

// toCSV writes RFC 4180 CSV: a header of the columns' keys, CRLF line ends,
// a field quoted when it holds a comma, a quote or a line break; null and
// undefined are empty fields. Columns marked csv: false are the table's
// alone (a name in the reader's language, beside both names in the file). It starts with a UTF-8 byte-order mark,
// without which Excel reads the file as the system's code page and turns
// Georgian into mojibake.
export function toCSV(columns, rows) {
  columns = columns.filter((c) => c.csv !== false);
  const field = (v) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.map((c) => field(c.key)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c.key])).join(','));
  return '\uFEFF' + lines.join('\r\n') + '\r\n';
}

// download hands the text to the browser as a file of that name.
export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download by now; the URL is not needed after.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
