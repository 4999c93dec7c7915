/**
 * Keys that appear twice in one JSON object of a text (`{"a":1,"a":2}`). JSON.parse keeps the
 * last and says nothing, but log shippers differ: some keep the first, some reject the line.
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  // One frame per open bracket: the keys seen so far for an object, null for an array.
  const frames: Array<Set<string> | null> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = frames[frames.length - 1];
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      if (top != null && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) found.push(key);
        top.add(key);
      }
      i = j + 1;
      continue;
    }
    if (c === '{') frames.push(new Set());
    else if (c === '[') frames.push(null);
    else if (c === '}' || c === ']') frames.pop();
    i++;
  }
  return found;
}
