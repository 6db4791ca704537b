/** What a careless producer might put in an event: customer names, phones, message text, tokens. */
export const PII_EXTRAS = {
  contact_name: 'Budi Santoso',
  customer_name: 'Siti Rahayu',
  phone: '+62 812 3456 7890',
  phone_number: '081234567890',
  email: 'budi@example.co.id',
  message: 'Halo, saya mau tanya soal tagihan saya',
  message_text: 'nomor KTP saya 3174xxxxxxxx',
  text: 'alamat: Jl. Sudirman 1',
  access_token: 'eyJhbGciOi-secret',
  deal_name: 'PT Maju Jaya — renewal',
  params: { name: 'Budi', phone: '0812' },
};
export const PII_VALUES = ['Budi', 'Siti', '3456 7890', '081234567890', 'example.co.id', 'Halo', 'KTP', 'Sudirman', 'eyJhbGciOi', 'Maju Jaya'];

