/** Markdown table of `rows` under `headers`. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const fixed = (value: number, digits = 1) => value.toFixed(digits);
export const ratio = (value: number) => `${value.toFixed(2)}×`;
export const verdict = (met: boolean) => (met ? 'met' : '**missed**');
