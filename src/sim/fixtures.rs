//! Fixed data the simulator validates against: GB/T 2260 area codes of Beijing, Shanghai
//! and Hangzhou (the sandbox advice, §2.1), the category tree (§4.7) and preloaded images.

/// `(province, city, district, district name)`.
pub const AREAS: &[(&str, &str, &str, &str)] = &[
    ("110000", "110100", "110101", "东城区"),
    ("110000", "110100", "110102", "西城区"),
    ("110000", "110100", "110105", "朝阳区"),
    ("110000", "110100", "110106", "丰台区"),
    ("110000", "110100", "110107", "石景山区"),
    ("110000", "110100", "110108", "海淀区"),
    ("110000", "110100", "110109", "门头沟区"),
    ("110000", "110100", "110111", "房山区"),
    ("110000", "110100", "110112", "通州区"),
    ("110000", "110100", "110113", "顺义区"),
    ("110000", "110100", "110114", "昌平区"),
    ("110000", "110100", "110115", "大兴区"),
    ("110000", "110100", "110116", "怀柔区"),
    ("110000", "110100", "110117", "平谷区"),
    ("110000", "110100", "110118", "密云区"),
    ("110000", "110100", "110119", "延庆区"),
    ("310000", "310100", "310101", "黄浦区"),
    ("310000", "310100", "310104", "徐汇区"),
    ("310000", "310100", "310105", "长宁区"),
    ("310000", "310100", "310106", "静安区"),
    ("310000", "310100", "310107", "普陀区"),
    ("310000", "310100", "310109", "虹口区"),
    ("310000", "310100", "310110", "杨浦区"),
    ("310000", "310100", "310112", "闵行区"),
    ("310000", "310100", "310113", "宝山区"),
    ("310000", "310100", "310114", "嘉定区"),
    ("310000", "310100", "310115", "浦东新区"),
    ("310000", "310100", "310116", "金山区"),
    ("310000", "310100", "310117", "松江区"),
    ("310000", "310100", "310118", "青浦区"),
    ("310000", "310100", "310120", "奉贤区"),
    ("310000", "310100", "310151", "崇明区"),
    ("330000", "330100", "330102", "上城区"),
    ("330000", "330100", "330105", "拱墅区"),
    ("330000", "330100", "330106", "西湖区"),
    ("330000", "330100", "330108", "滨江区"),
    ("330000", "330100", "330109", "萧山区"),
    ("330000", "330100", "330110", "余杭区"),
    ("330000", "330100", "330111", "富阳区"),
    ("330000", "330100", "330112", "临安区"),
    ("330000", "330100", "330113", "临平区"),
    ("330000", "330100", "330114", "钱塘区"),
    ("330000", "330100", "330122", "桐庐县"),
    ("330000", "330100", "330127", "淳安县"),
    ("330000", "330100", "330182", "建德市"),
];

/// One category: id, parent id, level, leaf, name.
#[derive(Debug, Clone, Copy)]
pub struct Category {
    pub id: &'static str,
    pub parent: Option<&'static str>,
    pub level: u8,
    pub leaf: bool,
    pub name: &'static str,
}

const fn cat(
    id: &'static str,
    parent: Option<&'static str>,
    level: u8,
    leaf: bool,
    name: &'static str,
) -> Category {
    Category {
        id,
        parent,
        level,
        leaf,
        name,
    }
}

pub const CATEGORIES: &[Category] = &[
    cat("2015050700000000", None, 1, false, "美食"),
    cat(
        "2015050700000001",
        Some("2015050700000000"),
        2,
        false,
        "中餐",
    ),
    cat(
        "2015050700000018",
        Some("2015050700000001"),
        3,
        true,
        "江浙菜",
    ),
    cat(
        "2015050700000019",
        Some("2015050700000001"),
        3,
        true,
        "川菜",
    ),
    cat(
        "2015050700000010",
        Some("2015050700000000"),
        2,
        true,
        "火锅",
    ),
    cat(
        "2015050700000011",
        Some("2015050700000000"),
        2,
        true,
        "快餐",
    ),
    cat("2015063000020189", None, 1, false, "购物"),
    cat(
        "2015063000020190",
        Some("2015063000020189"),
        2,
        true,
        "便利店",
    ),
    cat(
        "2015063000020191",
        Some("2015063000020189"),
        2,
        true,
        "超市",
    ),
];

pub fn category(id: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.id == id)
}

/// The path from the root to `id`, root first.
pub fn category_path(id: &str) -> Vec<&'static Category> {
    let mut out = Vec::new();
    let mut cur = category(id);
    while let Some(c) = cur {
        out.push(c);
        cur = c.parent.and_then(category);
    }
    out.reverse();
    out
}

/// The official examples' image ids (§8.4), accepted with `preload_example_images`.
pub const PRELOADED_IMAGES: [&str; 2] = [
    "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC",
    "4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT",
];

/// The public URL the simulator gives an image id.
pub fn image_url(id: &str) -> String {
    format!("http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds={id}&zoom=original")
}
