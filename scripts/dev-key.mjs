// The development key `npm run dev` accepts (public: it is in the README), shared by the scripts.
export const DEV_GATEWAY_KEY = 'ae_dev_sandbox_key'
