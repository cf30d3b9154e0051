//! What the listener sends back, and the fixed texts of Alipay's codes (§6.1; `sub_msg`
//! texts are Chinese).

/// What the server does with the connection.
pub enum Reply {
    /// A body with its status and content type, and extra headers (v3).
    Body {
        status: u16,
        content_type: &'static str,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Close without a response.
    Drop,
    /// Hold the connection for `hold_timeout`, then close.
    Hold,
    /// Declare the full length, send `keep` bytes, close.
    Truncated {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        keep: usize,
    },
}

pub const JSON: &str = "application/json;charset=utf-8";

/// The HTML page of a `gateway_5xx` fault.
pub const BAD_GATEWAY: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>Tengine</center></body></html>";

impl Reply {
    pub fn json(status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        Reply::Body {
            status,
            content_type: JSON,
            headers,
            body,
        }
    }

    pub fn bad_gateway() -> Self {
        Reply::Body {
            status: 502,
            content_type: "text/html",
            headers: Vec::new(),
            body: BAD_GATEWAY.into(),
        }
    }
}

/// The official English name of a classic `code` (§6.1).
pub fn msg_of(code: &str) -> &'static str {
    match code {
        "10000" => "Success",
        "20000" => "Service Currently Unavailable",
        "20001" => "Insufficient Token Permissions",
        "40001" => "Missing Required Arguments",
        "40002" => "Invalid Arguments",
        "40003" => "Insufficient Conditions",
        "40004" => "Business Failed",
        "40005" => "Call Limited",
        _ => "Insufficient Permissions",
    }
}

/// The default `sub_msg` of a `sub_code` (v3: the `message` of a code).
pub fn sub_msg_of(sub: &str) -> &'static str {
    match sub
        .trim_start_matches("isv.")
        .trim_start_matches("aop.")
        .trim_start_matches("isp.")
    {
        "invalid-parameter" => "参数无效",
        "missing-method" | "invalid-method" => "不存在的方法名",
        "invalid-app-id" => "无效的AppID参数",
        "invalid-signature-type" => "无效的签名类型",
        "invalid-timestamp" => "非法的时间戳参数",
        "missing-timestamp" => "缺少时间戳参数",
        "invalid-signature" => "验签出错",
        "invalid-charset" => "字符集错误",
        "illegal-json" => "JSON格式不合法",
        "invalid-app-auth-token" => "无效的应用授权令牌",
        "missing-app-cert-sn" => "缺少应用公钥证书SN",
        "app-cert-not-exist" => "应用公钥证书不存在",
        "missing-alipay-root-cert-sn" => "缺少支付宝根证书SN",
        "invalid-alipay-root-cert-sn" => "无效的支付宝根证书SN",
        "insufficient-isv-permissions" => "ISV权限不足，建议在开发者中心检查签约是否已经生效",
        "app-call-limited" => "应用调用频率超限",
        "method-call-limited" => "接口调用频率超限",
        "unknow-error" => "系统繁忙",
        "NOT_ALLOWED_CONCURRENT_MODIFY" => "门店正在审核中，不允许修改",
        "SHOP_CREATE_REPEAT_REQUEST" => "重复的请求",
        "SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"
        | "SHOP_MODIFY_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR" => "外部门店编号已存在",
        "SHOP_MODIFY_SHOP_NOT_EXISTS" | "INVALID_SHOPID" => "门店不存在",
        "CATEGORY_CANOT_MODIFY" => "品类不允许修改",
        "PROVINCE_CITY_CANOT_MODIFY" => "省市不允许修改",
        "SHOP_STATUS_CANOT_MODIFY" => "门店状态不允许修改",
        "AREA_CAN_NOT_NULL" => "省市区不能为空",
        "AREA_NOT_LEGALITY" => "省市区不合法",
        "SHOP_CREATE_CATOGORY_NOT_EXISTS" => "品类不存在",
        "BUSINESS_TIME_RULE_ERROR" => "营业时间格式错误",
        "OUT_SHOP_ID_RULE_ERROR" => "外部门店编号不合法",
        "exceed-max-size" | "EXCEED_MAX_SIZE" => "图片大小超过限制",
        "unknown-fomat" | "UNKNOWN_FORMAT" => "图片格式不支持",
        s if s.ends_with("SYSTEM_ERROR") => "系统异常",
        _ => "参数不合法",
    }
}
