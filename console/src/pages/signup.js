import authPage from './authform.js';

export default (ctx) => authPage(ctx, true);
