// Text imports of the embedded UI assets (`with { type: 'text' }`): Bun inlines them into the binary.
declare module '*.css' {
  const text: string;
  export default text;
}
declare module '*/client.js' {
  const text: string;
  export default text;
}
