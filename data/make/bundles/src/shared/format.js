export function money(amount, currency = "EUR") {
  return new Intl.NumberFormat("en-GB", { style: "currency", currency }).format(amount);
}

export function percent(x) {
  return `${(x * 100).toFixed(1)} %`;
}
