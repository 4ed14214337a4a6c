"""Single sign-on through OpenID Connect (any provider, or Cognito) and provider tokens on the API."""
